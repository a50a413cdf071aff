"""The checkout with Stripe on: review places the order awaiting payment and leads to the
payment page (the account's, or the guest's by the signed link), which pays by card."""

import pytest
from django.test import Client

from accounts.models import User
from cart.models import Order, guest_order_path
from catalog.models import Product
from tests.accounts.helpers import PASSWORD
from tests.cart.helpers import add
from tests.cart.test_checkout import ADDRESS
from tests.factories import make_product
from tests.mail import outbox
from tests.payments.helpers import card_token, place_awaiting

pytestmark = pytest.mark.django_db


def place_by_card(client, details=ADDRESS):
    assert client.post("/checkout/", details).status_code == 302
    page = client.get("/checkout/review/")
    form = page.context["form"]
    assert "test_payment" not in form.fields
    assert b"Place order and pay" in page.content
    return client.post(
        "/checkout/review/",
        {
            "idempotency_key": form.initial["idempotency_key"],
            "fingerprint": form.initial["fingerprint"],
        },
    )


def test_an_account_places_the_order_then_pays_on_the_payment_page(client, stripe_on):
    user = User.objects.create_user("ann@example.com", PASSWORD, email_verified=True)
    client.force_login(user)
    lamp = make_product(name="Lamp", price="20.00", stock=5)
    add(client, lamp, 2)
    response = place_by_card(client)
    order = Order.objects.get()
    assert response["Location"] == f"/orders/{order.pk}/pay/"
    assert (order.status, Product.objects.get().stock) == ("awaiting_payment", 3)
    page = client.get(response["Location"])
    assert page.status_code == 200
    assert f'src="{stripe_on.STRIPE_API_BASE}/js.stripe.com/v3/"'.encode() in page.content
    assert b'data-key="pk_test_shop"' in page.content and b"$40.00" in page.content
    assert b"no real payments" not in page.content
    card = card_token(stripe_on.STRIPE_API_BASE, "4242424242424242")
    paid = client.post(response["Location"], {"payment_method": card})
    assert paid["Location"] == f"/orders/{order.pk}/"
    assert b"is paid" in client.get(paid["Location"]).content
    assert [m.to for m in outbox()] == [["ann@example.com"]]
    # Paid: the payment page only leads back to the order.
    assert client.get(response["Location"])["Location"] == f"/orders/{order.pk}/"


def test_a_guest_pays_on_the_page_of_their_signed_link(client, stripe_on):
    add(client, make_product(name="Mug", stock=5), 1)
    response = place_by_card(client, {"email": "guest@example.com", **ADDRESS})
    order = Order.objects.get()
    token = guest_order_path(order.pk).split("/")[-2]
    assert response["Location"].startswith("/orders/guest/") and response["Location"].endswith(
        "/pay/"
    )
    assert client.get(response["Location"]).status_code == 200
    assert Client().get(response["Location"]).status_code == 200  # the link is the key
    declined = card_token(stripe_on.STRIPE_API_BASE, "4000000000000002")
    result = client.post(response["Location"], {"payment_method": declined}, follow=True)
    assert b"declined" in result.content and b"is cancelled" in result.content
    assert Order.objects.get().status == "cancelled"
    assert Product.objects.get().stock == 5
    assert client.get(f"/orders/guest/{token}x/pay/").status_code == 404


def test_bad_payment_input_is_a_form_error(client, stripe_on):
    user = User.objects.create_user("bo@example.com", PASSWORD, email_verified=True)
    client.force_login(user)
    order = place_awaiting(make_product(), user=user)
    for value in ["", "4242424242424242", "pm_" + "x" * 300, "tok_<script>"]:
        response = client.post(f"/orders/{order.pk}/pay/", {"payment_method": value})
        assert response.status_code == 400
    assert Order.objects.get().status == "awaiting_payment"


def test_someone_elses_order_has_no_payment_page(client, stripe_on):
    owner = User.objects.create_user("cy@example.com", PASSWORD, email_verified=True)
    order = place_awaiting(make_product(), user=owner)
    client.force_login(User.objects.create_user("dee@example.com", PASSWORD))
    assert client.get(f"/orders/{order.pk}/pay/").status_code == 404


def test_without_stripe_the_test_payment_stays_and_the_page_says_so(client):
    add(client, make_product(stock=5), 1)
    client.post("/checkout/", {"email": "guest@example.com", **ADDRESS})
    page = client.get("/checkout/review/")
    assert "test_payment" in page.context["form"].fields
    assert b"no real payments are taken" in page.content


def test_while_stripe_is_down_the_payment_page_says_so_and_the_order_waits(client, stripe_on):
    from deploy.servers import free_port
    from payments.services import _client

    user = User.objects.create_user("eve@example.com", PASSWORD, email_verified=True)
    client.force_login(user)
    order = place_awaiting(make_product(stock=2), user=user)
    stripe_on.STRIPE_API_BASE = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    _client.cache_clear()
    page = client.get(f"/orders/{order.pk}/pay/")
    assert page.status_code == 503 and b"nothing was charged" in page.content
    assert Order.objects.get().status == "awaiting_payment"
    assert b"Pay now" in client.get(f"/orders/{order.pk}/").content
