"""Orders awaiting payment, Stripe's webhooks as Stripe signs them, and the fake Stripe's
own view of what was charged."""

import hashlib
import hmac
import json
import time
import uuid

import requests

from cart.models import Cart, CartLine, Order
from cart.services import cart_fingerprint, order_place
from payments.services import payment_start
from tests.cart.test_checkout import ADDRESS
from tests.conftest import WEBHOOK_SECRET

SECRET_KEY = "sk_test_shop"


def place_awaiting(product, quantity: int = 1, user=None) -> Order:
    """An order paid by card, as checkout places it: stock taken, waiting for its payment."""
    if user:
        cart = Cart.objects.get_or_create(user=user)[0]
    else:
        cart = Cart.objects.create(session_key=uuid.uuid4().hex)
    CartLine.objects.create(
        cart=cart, product=product, quantity=quantity, updated_at=cart.created_at
    )
    lines = list(CartLine.objects.filter(cart=cart).select_related("product"))
    return order_place(
        user=user,
        email=user.email if user else "guest@example.com",
        cart_id=cart.pk,
        address=ADDRESS,
        idempotency_key=uuid.uuid4(),
        fingerprint=cart_fingerprint(lines),
        site="http://testserver",
        pay_by_card=True,
    )


def signed(event: dict, secret: str = WEBHOOK_SECRET) -> tuple[bytes, str]:
    """The body and Stripe-Signature header Stripe would send for `event`."""
    payload = json.dumps(event).encode()
    timestamp = int(time.time())
    digest = hmac.new(secret.encode(), b"%d.%s" % (timestamp, payload), hashlib.sha256)
    return payload, f"t={timestamp},v1={digest.hexdigest()}"


def event_for(intent: dict, kind: str) -> dict:
    """A Stripe event of `kind` about `intent` (as the API returned it)."""
    return {
        "id": f"evt_{uuid.uuid4().hex[:24]}",
        "object": "event",
        "type": kind,
        "created": int(time.time()),
        "data": {"object": intent},
    }


def stripe_api(base: str, method: str, path: str, **data) -> dict:
    """The fake Stripe's API, called as a shopper's browser or Stripe.js would call it."""
    fields = {"params": data} if method == "GET" else {"data": data}
    response = requests.request(
        method, f"{base}{path}", auth=(SECRET_KEY, ""), timeout=10, **fields
    )
    return response.json()


def card_token(base: str, number: str) -> str:
    """What Stripe.js makes of a card typed into its element: a single-use token."""
    card = {"card[number]": number, "card[exp_month]": "12", "card[exp_year]": "2030"}
    response = requests.post(
        f"{base}/v1/tokens", data={**card, "card[cvc]": "123", "key": "pk_test_shop"}, timeout=10
    )
    return response.json()["id"]


def stripe_list(base: str, path: str) -> list[dict]:
    """Every object of a list endpoint of the fake Stripe, page after page."""
    found, after = [], {}
    while True:
        page = stripe_api(base, "GET", path, limit=100, **after)
        found += page["data"]
        if not page["has_more"]:
            return found
        after = {"starting_after": page["data"][-1]["id"]}


def intents_for(base: str, order: Order) -> list[dict]:
    """Every PaymentIntent the fake Stripe holds for the order."""
    intents = stripe_list(base, "/v1/payment_intents")
    return [i for i in intents if i["metadata"].get("order") == str(order.pk)]


def refunds_of(base: str, intent_id: str) -> list[int]:
    """The amounts the fake Stripe refunded of a PaymentIntent."""
    refunds = stripe_list(base, "/v1/refunds")
    return [r["amount"] for r in refunds if r["payment_intent"] == intent_id]


def intent_of(base: str, order: Order) -> dict:
    """The order's PaymentIntent as the fake Stripe holds it, made as the payment page
    makes it."""
    return stripe_api(base, "GET", f"/v1/payment_intents/{payment_start(order=order)}")


def paid_at_stripe(base: str, order: Order) -> dict:
    """The order's PaymentIntent paid with Stripe's test card at Stripe itself, without the
    shop hearing of it (as if its instance died right after the shopper paid)."""
    intent_id = payment_start(order=order)
    stripe_api(base, "POST", f"/v1/payment_intents/{intent_id}", payment_method="pm_card_visa")
    return stripe_api(base, "POST", f"/v1/payment_intents/{intent_id}/confirm")


def authenticate(base: str, intent_id: str, client_secret: str, success: bool) -> dict:
    """What the shopper does in Stripe.js's 3-D Secure challenge: complete it or fail it."""
    response = requests.post(
        f"{base}/v1/payment_intents/{intent_id}/_authenticate",
        params={"success": "true" if success else "false"},
        json={"key": "pk_test_shop", "client_secret": client_secret},
        timeout=10,
    )
    return response.json()
