"""The admin's refund: a card payment goes back through Stripe and the order's stock
returns; anything else is left as it was."""

import pytest

from accounts.models import User
from cart.models import Order
from catalog.models import Product
from payments import services
from tests.accounts.helpers import admin_log_in
from tests.factories import make_product
from tests.payments.helpers import place_awaiting, refunds_of

pytestmark = pytest.mark.django_db


def test_the_admin_refunds_a_card_payment_through_stripe(client, stripe_on):
    admin = User.objects.create_superuser("admin@example.com", "a-long-admin-password")
    admin_log_in(client, admin, "a-long-admin-password")
    product = make_product(stock=5)
    paid = place_awaiting(product, 2)
    services.payment_confirm(order=paid, payment_method="pm_card_visa")
    waiting = place_awaiting(product, 1)
    action = {"action": "refund", "_selected_action": [paid.pk, waiting.pk]}
    page = client.post("/admin/cart/order/", action, follow=True)
    assert page.status_code == 200
    text = page.content.decode()
    assert f"Refunded: {paid.number}." in text and "1 order(s) left as they were" in text
    statuses = dict(Order.objects.values_list("pk", "status"))
    assert statuses == {paid.pk: "refunded", waiting.pk: "awaiting_payment"}
    assert Product.objects.get().stock == 4  # the refunded 2 are back; 1 still waits
    client.post("/admin/cart/order/", action)  # a second click refunds nothing more
    paid.refresh_from_db()
    assert refunds_of(stripe_on.STRIPE_API_BASE, paid.payment_reference) == [1998]
