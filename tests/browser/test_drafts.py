"""A form draft follows the shopper: half an address typed in one browser is there when the
same shopper opens checkout in another."""

import pytest
from playwright.sync_api import expect

from tests.factories import make_product
from tests.servers import server_user

pytestmark = pytest.mark.browser
PASSWORD = "correct-horse-battery-9"


def log_in(page, url):
    page.goto(f"{url}/accounts/login/")
    page.get_by_label("Email").fill("dee@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator(".account-menu summary")).to_have_text("Hi, Dee")


def test_half_an_address_typed_on_one_browser_is_there_on_another(app_server, browser):
    make_product(name="Copper Kettle", slug="copper-kettle", price="40.00")
    server_user("dee@example.com", PASSWORD, display_name="Dee", email_verified=True)
    url = app_server.url
    laptop, phone = browser.new_context(), browser.new_context()
    try:
        first = laptop.new_page()
        log_in(first, url)
        first.goto(f"{url}/products/copper-kettle/")
        first.get_by_role("button", name="Add to cart").click()
        first.goto(f"{url}/checkout/")
        with first.expect_response(lambda r: "/accounts/drafts/" in r.url) as saved:
            first.locator("#id_line1").fill("2 Mill Lane")
            first.get_by_label("City").fill("York")
        assert saved.value.status == 204

        second = phone.new_page()
        log_in(second, url)
        second.goto(f"{url}/checkout/")
        expect(second.locator("#id_line1")).to_have_value("2 Mill Lane")
        expect(second.get_by_label("City")).to_have_value("York")
        expect(second.get_by_label("Full name")).to_have_value("Dee")
        expect(second.get_by_text("We kept what you typed")).to_be_visible()

        second.get_by_label("Postcode").fill("YO1 7HH")
        second.get_by_label("Country").fill("United Kingdom")
        second.get_by_role("button", name="Continue to review").click()
        expect(second.get_by_text("Test payment", exact=True)).to_be_visible()
        first.goto(f"{url}/checkout/")  # submitted on the phone: the draft is gone
        expect(first.get_by_text("We kept what you typed")).to_have_count(0)
    finally:
        laptop.close()
        phone.close()
