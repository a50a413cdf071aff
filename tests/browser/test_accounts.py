"""A shopper's account in a real browser: sign up, log out, log in, set a preference."""

import pytest
from playwright.sync_api import expect

from tests.factories import make_category, make_product

pytestmark = pytest.mark.browser
PASSWORD = "correct-horse-battery-9"


def test_sign_up_log_out_log_in_and_change_a_preference(app_server, page):
    category = make_category(name="Kitchen", slug="kitchen")
    for n in range(30):
        make_product(category=category, name=f"Mug {n:02d}")
    url = app_server.url

    page.goto(f"{url}/")
    page.get_by_role("link", name="Sign up").click()
    page.get_by_label("Email").fill("zoe@example.com")
    page.get_by_label("Name (optional)").fill("Zoë")
    page.locator("#id_password1").fill(PASSWORD)
    page.locator("#id_password2").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("heading", name="Check your email")).to_be_visible()

    page.goto(url + app_server.link_in_mail(r"/accounts/confirm/\S+/"))
    page.get_by_role("button", name="Confirm and log in").click()
    expect(page.get_by_text("Your email is confirmed")).to_be_visible()
    expect(page.locator(".account-menu summary")).to_have_text("Hi, Zoë")

    page.get_by_text("Hi, Zoë").click()  # the account menu opens
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("link", name="Log in")).to_be_visible()
    page.get_by_role("link", name="Log in").click()
    page.get_by_label("Email").fill("zoe@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator(".account-menu summary")).to_have_text("Hi, Zoë")
    expect(page.locator(".product-card")).to_have_count(24)

    page.get_by_text("Hi, Zoë").click()  # the account menu opens
    page.get_by_role("link", name="Profile and preferences").click()
    page.get_by_label("Products per page").select_option("12")
    page.get_by_role("button", name="Save preferences").click()
    expect(page.get_by_text("Your preferences are saved.")).to_be_visible()
    page.goto(f"{url}/")
    expect(page.locator(".product-card")).to_have_count(12)
    expect(page.get_by_text("Page 1 of 3")).to_be_visible()
