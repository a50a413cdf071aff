"""The shop in a real browser: pages render with no console errors and no failed assets."""

import pytest
from playwright.sync_api import expect

from tests.accounts.helpers import PASSWORD, admin_login_form
from tests.servers import manage, server_user, start_app_server

pytestmark = pytest.mark.browser


@pytest.fixture
def shop_on_s3(transactional_db, s3_environment):
    """The demo shop as production serves it: static files and product images from S3."""
    environment, _s3 = s3_environment
    manage("seed_demo", "--verbosity", "0", **environment)
    server = start_app_server("smoke", **environment)
    yield server
    server.stop()


@pytest.fixture
def problems(page):
    """Console errors, uncaught exceptions and 4xx/5xx responses seen by the page."""
    seen = []
    page.on("console", lambda m: m.type == "error" and seen.append(f"console: {m.text}"))
    page.on("pageerror", lambda error: seen.append(f"page error: {error}"))
    page.on("response", lambda r: r.status >= 400 and seen.append(f"{r.status} {r.url}"))
    return seen


def test_home_product_page_and_admin_login_render_cleanly(shop_on_s3, page, problems):
    page.goto(f"{shop_on_s3.url}/")
    expect(page.get_by_role("heading", name="All products")).to_be_visible()
    expect(page.locator(".product-card")).to_have_count(24)
    page.locator(".product-card a").first.click()
    expect(page.locator(".product-detail h1")).to_be_visible()
    expect(page.locator(".product-detail .price")).to_contain_text("$")
    page.wait_for_load_state("networkidle")

    page.get_by_role("link", name="Kitchen").click()
    expect(page.get_by_role("heading", name="Kitchen")).to_be_visible()
    page.get_by_label("Search products").fill("tea")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_role("heading", name="Results for “tea”")).to_be_visible()

    page.goto(f"{shop_on_s3.url}/admin/login/")
    expect(page.get_by_label("Email")).to_be_visible()
    page.wait_for_load_state("networkidle")
    assert problems == []


def test_the_admin_works_under_the_content_security_policy(shop_on_s3, page, problems):
    """A staff login with password and authenticator code, then the admin's scripted pages
    (change list, change form with its widgets): any CSP violation is a console error."""
    staff = server_user("staff@example.com", PASSWORD, is_staff=True, is_superuser=True)
    login = admin_login_form(staff, PASSWORD)
    page.goto(f"{shop_on_s3.url}/admin/login/")
    page.get_by_label("Email").fill(login["username"])
    page.get_by_label("Password").fill(login["password"])
    page.get_by_label("Code from your authenticator app, or a recovery code").fill(
        login["otp_token"]
    )
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Site administration")).to_be_visible()
    page.goto(f"{shop_on_s3.url}/admin/catalog/product/")
    page.locator("#result_list tbody th a").first.click()
    expect(page.locator("#product_form")).to_be_visible()
    page.goto(f"{shop_on_s3.url}/admin/cart/order/")
    page.wait_for_load_state("networkidle")
    assert problems == []
