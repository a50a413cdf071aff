"""The README's feature tour, photographed: `make screenshots` (python -m docs.screenshots).

Starts the demo shop on throwaway servers (PostgreSQL, Redis and gunicorn from
deploy.servers, the demo catalogue of `manage.py seed_demo`, debug on so that its product
images are served), gives it a little history through the shop's own services (a few
shoppers' orders and views, then the recommendations job), and drives Debian's Chromium with
Playwright through the pages the tour shows, writing docs/screenshots/*.png. Rerun it after
any change to the pages; everything it starts stops when it ends.
"""

import os
import sys
import uuid
from pathlib import Path

from deploy.servers import AppServer, free_port, throwaway_services
from deploy.servers.browser import CHROMIUM_LAUNCH

OUT = Path(__file__).resolve().parent / "screenshots"
PASSWORD = uuid.uuid4().hex  # the shop lives for one run
SHOPPER = "sam@example.com"
VIEWPORT = {"width": 1180, "height": 860}
ADDRESS = {
    "full_name": "Sam Jones",
    "line1": "2 Mill Lane",
    "line2": "",
    "city": "York",
    "postcode": "YO1 7HH",
    "country": "United Kingdom",
}
# Other shoppers' orders (the demo catalogue's slugs): what sells together in the tour.
BASKETS = [
    ["copper-teapot", "walnut-cutting-board", "copper-colander"],
    ["copper-teapot", "walnut-cutting-board"],
    ["copper-teapot", "copper-colander", "enamel-whisk"],
    ["walnut-cutting-board", "enamel-whisk"],
]
VIEWED = ["copper-teapot", "terracotta-planter"]  # what the tour's shopper looked at


def demo_shop(environment: dict[str, str]) -> None:
    """Migrate, seed the demo catalogue and give it history, in this process."""
    os.environ.update(environment)
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.PBKDF2PasswordHasher"]
    call_command("migrate", verbosity=0)
    call_command("seed_demo", verbosity=0)
    from accounts.models import Address, User
    from cart import selectors, services
    from catalog.models import Product
    from catalog.selectors import account_viewed
    from catalog.services import (
        recently_viewed_record,
        recently_viewed_save,
        recommendations_refresh,
    )

    def product(slug: str) -> Product:
        return Product.objects.get(slug=slug)

    for n, basket in enumerate(BASKETS):
        buyer = User.objects.create_user(f"buyer{n}@example.com", PASSWORD, email_verified=True)
        cart_id = services.cart_open(user=buyer, session_key=None)
        for slug in basket:
            services.cart_add_line(cart_id=cart_id, product_id=product(slug).pk, quantity=1)
            recently_viewed_record(
                user=buyer,
                session={},
                product_id=product(slug).pk,
                viewed=account_viewed(buyer.pk),
            )
        services.order_place(
            user=buyer,
            email=buyer.email,
            cart_id=cart_id,
            address=ADDRESS,
            idempotency_key=uuid.uuid4(),
            fingerprint=services.cart_fingerprint(selectors.cart_lines(cart_id=cart_id)),
            site="http://localhost",
        )
    sam = User.objects.create_user(
        SHOPPER, PASSWORD, display_name="Sam", email_verified=True, products_per_page=12
    )
    for slug in VIEWED:
        recently_viewed_record(
            user=sam, session={}, product_id=product(slug).pk, viewed=account_viewed(sam.pk)
        )
    home = Address.objects.create(user=sam, **ADDRESS)
    Address.objects.create(user=sam, **{**ADDRESS, "line1": "14 Quay Street", "city": "Hull"})
    User.objects.filter(pk=sam.pk).update(default_address=home)
    recently_viewed_save()  # as the workers do every second
    print(recommendations_refresh())


def log_in(page, url: str) -> None:
    page.goto(f"{url}/accounts/login/")
    page.get_by_label("Email").fill(SHOPPER)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{url}/")


def shoot(page, name: str, **options) -> None:
    page.screenshot(path=OUT / f"{name}.png", **options)
    print(f"docs/screenshots/{name}.png")


def tour(url: str) -> None:
    from playwright.sync_api import sync_playwright

    OUT.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(**CHROMIUM_LAUNCH)
        laptop = browser.new_context(viewport=VIEWPORT, user_agent=LAPTOP)
        phone = browser.new_context(viewport=VIEWPORT, user_agent=PHONE)
        page = laptop.new_page()
        log_in(page, url)
        shoot(page, "home-picked-for-you", full_page=True)
        page.locator(".account-menu summary").click()
        shoot(page, "account-menu", clip={"x": 0, "y": 0, "width": 1180, "height": 480})
        page.goto(f"{url}/products/copper-teapot/")
        shoot(page, "product-also-bought", full_page=True)
        log_in(phone.new_page(), url)
        page.goto(f"{url}/accounts/sessions/")
        shoot(page, "signed-in-devices")
        page.goto(f"{url}/accounts/addresses/")
        shoot(page, "address-book")
        page.goto(f"{url}/accounts/")
        shoot(page, "your-account")
        page.goto(f"{url}/products/walnut-cutting-board/")
        page.get_by_role("button", name="Add to cart").click()
        page.goto(f"{url}/checkout/")
        with page.expect_response(lambda r: "/accounts/drafts/" in r.url):
            page.locator("#id_full_name").fill("Sam Jones")
            page.locator("#id_line1").fill("7 Station Road")
        other = phone.new_page()
        other.goto(f"{url}/checkout/")
        shoot(other, "checkout-draft-on-another-device", full_page=True)
        guest = browser.new_context(viewport=VIEWPORT).new_page()
        guest.goto(f"{url}/products/enamel-whisk/")
        guest.get_by_role("button", name="Add to cart").click()
        guest.goto(f"{url}/checkout/")
        guest.get_by_label("Email").fill("guest@example.com")
        for field, value in ADDRESS.items():
            if value:
                guest.locator(f"#id_{field}").fill(value)
        shoot(guest, "guest-checkout", full_page=True)
        guest.get_by_role("button", name="Continue to review").click()
        guest.get_by_label("Pay with the test card").check()
        guest.get_by_role("button", name="Place order").click()
        shoot(guest, "guest-order-page", full_page=True)
        browser.close()


LAPTOP = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36"
)
PHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1"
)


def main() -> int:
    with throwaway_services("webshop-screenshots-") as (workdir, postgres, redis):
        postgres.create_database("webshop")
        environment = {
            "DJANGO_SETTINGS_MODULE": "webapp.settings",
            "DJANGO_DEBUG": "true",  # the demo shop, as `make run` serves it, with its images
            "DJANGO_SECRET_KEY": uuid.uuid4().hex * 2,
            "DATABASE_URL": postgres.url(),
            "REDIS_URL": redis.url(),
            "DJANGO_MEDIA_ROOT": str(workdir / "media"),
            "EMAIL_URL": f"filemail:///{workdir / 'mail'}",
        }
        demo_shop(environment)
        server = AppServer(port=free_port(), log=workdir / "gunicorn.log")
        server.start({**environment, "GUNICORN_WORKERS": "2"})
        try:
            tour(server.url)
        finally:
            server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
