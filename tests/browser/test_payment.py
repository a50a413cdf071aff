"""A guest pays by card in a real browser: the payment page loads Stripe.js (the fake
Stripe's stand-in and its card element) under the shop's strict CSP, with no violation."""

import pytest
from playwright.sync_api import expect

from cart.models import Order
from notifications.models import Email
from tests.browser.helpers import fill_checkout_address
from tests.factories import make_product
from tests.servers import start_app_server

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def stripe_shop(transactional_db, stripe_environment):
    # No worker: the payment page settles the order itself; its email is queued, not sent.
    server = start_app_server("pay-browser", workers=1, mail=False, **stripe_environment)
    yield server
    server.stop()


def checkout_to_the_payment_page(page, url: str) -> None:
    page.goto(f"{url}/products/tea-pot/")
    page.get_by_role("button", name="Add to cart").click()
    page.goto(f"{url}/checkout/")
    page.get_by_label("Email").fill("kim@example.com")
    fill_checkout_address(
        page, name="Kim Park", line1="3 Dock Road", city="Hull", postcode="HU1 1AA"
    )
    expect(page.get_by_text("Test payment", exact=True)).to_have_count(0)
    page.get_by_role("button", name="Place order and pay").click()
    expect(page.get_by_role("heading", name="Pay for order")).to_be_visible()


def pay_with(page, number: str) -> None:
    card = page.locator("#card-element")
    card.get_by_placeholder("number").fill(number)
    card.get_by_placeholder("exp_month").fill("12")
    card.get_by_placeholder("exp_year").fill("30")
    card.get_by_placeholder("cvc").fill("123")
    card.get_by_placeholder("postal_code").fill("12345")
    page.get_by_role("button", name="Pay $25.00").click()


@pytest.mark.parametrize("card", ["4242424242424242", "4000002500003155"], ids=["card", "3ds"])
def test_a_guest_checks_out_and_pays_with_the_card_element(stripe_shop, page, card):
    """With 4000 0025 0000 3155 the bank asks for 3-D Secure: Stripe.js shows its challenge,
    the shopper completes it, and the page settles the order with Stripe."""
    make_product(name="Tea Pot", slug="tea-pot", price="25.00", stock=3)
    violations = []
    page.on("console", lambda m: "Content Security Policy" in m.text and violations.append(m.text))
    checkout_to_the_payment_page(page, stripe_shop.url)
    pay_with(page, card)
    if card == "4000002500003155":
        expect(page.locator("#authenticating")).to_be_visible()
        page.get_by_role("button", name="Complete authentication").click()

    expect(page.get_by_text("is paid")).to_be_visible()
    expect(page.locator("#order-status")).to_have_text("Paid")
    order = Order.objects.get()
    assert (order.status, order.email) == ("paid", "kim@example.com")
    assert order.payment_reference.startswith("pi_")
    assert Email.objects.filter(key=f"order_confirmation:{order.pk}").count() == 1
    assert violations == []
