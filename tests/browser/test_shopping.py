"""The whole shopping journey in a real browser."""

import pytest
from playwright.sync_api import expect

from cart.models import Order
from tests.browser.helpers import fill_checkout_address
from tests.factories import make_category, make_product

pytestmark = pytest.mark.browser
PASSWORD = "correct-horse-battery-9"


def test_browse_add_sign_up_keep_the_cart_check_out_and_see_the_order(app_server, page):
    kitchen = make_category(name="Kitchen", slug="kitchen")
    make_product(category=kitchen, name="Copper Kettle", slug="copper-kettle", price="40.00")
    make_product(category=kitchen, name="Oak Board", slug="oak-board", price="15.50")
    url = app_server.url

    page.goto(f"{url}/")
    page.get_by_role("link", name="Kitchen").click()
    page.get_by_role("button", name="Add Oak Board to cart").click()
    expect(page.get_by_text("Added to your cart.")).to_be_visible()
    page.get_by_role("link", name="Copper Kettle").click()
    page.get_by_label("Quantity").fill("2")
    page.get_by_role("button", name="Add to cart").click()
    expect(page.locator(".cart-count")).to_have_text("3")

    page.get_by_role("link", name="Sign up").click()
    page.get_by_label("Email").fill("sam@example.com")
    page.locator("#id_password1").fill(PASSWORD)
    page.locator("#id_password2").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    page.goto(url + app_server.link_in_mail(r"/accounts/confirm/\S+/"))
    page.get_by_role("button", name="Confirm and log in").click()
    expect(page.locator(".cart-count")).to_have_text("3")  # the cart was kept

    page.get_by_role("link", name="Cart").click()
    expect(page.locator("tfoot")).to_contain_text("$95.50")
    page.get_by_role("link", name="Check out").click()
    fill_checkout_address(
        page, name="Sam Jones", line1="2 Mill Lane", city="York", postcode="YO1 7HH"
    )
    expect(page.get_by_text("Test payment", exact=True)).to_be_visible()
    page.get_by_label("Pay with the test card").check()
    page.get_by_role("button", name="Place order").click()
    expect(page.get_by_text("Thank you!")).to_be_visible()
    expect(page.locator(".cart-count")).to_have_text("0")

    order = Order.objects.get()
    page.locator(".account-menu summary").click()
    page.get_by_role("link", name="Orders", exact=True).click()
    expect(page.get_by_role("link", name=order.number)).to_be_visible()
    page.get_by_role("link", name=order.number).click()
    expect(page.get_by_text("Copper Kettle")).to_be_visible()
    expect(page.locator("tfoot")).to_contain_text("$95.50")
