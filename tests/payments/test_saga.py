"""The checkout saga against a real (fake) Stripe over HTTP and the real PostgreSQL: each
transition, its webhook delivered twice and out of order, the timeout, Stripe down, a
crash between creating the PaymentIntent and recording it, and the refund."""

from datetime import timedelta

import pytest
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from cart.models import Order
from catalog.models import Product
from notifications.models import Email
from payments import services
from payments.models import StripeEvent
from tests.factories import make_product
from tests.mail import outbox, run_due_tasks
from tests.payments.helpers import (
    authenticate,
    card_token,
    event_for,
    intent_of,
    intents_for,
    paid_at_stripe,
    place_awaiting,
    refunds_of,
    signed,
    stripe_api,
    stripe_list,
)

pytestmark = pytest.mark.django_db
DECLINED = "4000000000000002"  # Stripe's generic decline test card
THREE_D_SECURE = "4000002500003155"  # Stripe's test card that always asks for 3-D Secure


def deliver(client, event: dict, secret=None) -> int:
    """POST the event to the webhook as Stripe would; returns the status code."""
    payload, signature = signed(event) if secret is None else signed(event, secret)
    return client.post(
        "/payments/webhook/",
        payload,
        content_type="application/json",
        headers={"Stripe-Signature": signature},
    ).status_code


def stock(product) -> int:
    return Product.objects.values_list("stock", flat=True).get(pk=product.pk)


def status(order) -> str:
    return Order.objects.values_list("status", flat=True).get(pk=order.pk)


def test_an_order_paid_by_card_is_paid_and_confirmed_by_one_email(client, stripe_on):
    product = make_product(stock=10)
    order = place_awaiting(product, 2)
    assert (status(order), stock(product)) == ("awaiting_payment", 8)
    assert outbox() == []  # no confirmation before the payment
    assert services.payment_confirm(order=order, payment_method="pm_card_visa") == "paid"
    order.refresh_from_db()
    intent = stripe_api(
        stripe_on.STRIPE_API_BASE, "GET", f"/v1/payment_intents/{order.payment_reference}"
    )
    assert intent["status"] == "succeeded"
    # Stripe's webhook follows, twice: it changes nothing more.
    event = event_for(intent, "payment_intent.succeeded")
    assert [deliver(client, event), deliver(client, event)] == [200, 200]
    mails = outbox()
    assert [m.to for m in mails] == [["guest@example.com"]]
    assert "paid by card" in mails[0].body
    assert (status(order), stock(product)) == ("paid", 8)
    assert StripeEvent.objects.get().outcome == "order was not awaiting payment"


def test_a_card_token_pays_one_order_only(stripe_on):
    token = card_token(stripe_on.STRIPE_API_BASE, "4242424242424242")
    first, second = place_awaiting(make_product(stock=5)), place_awaiting(make_product(stock=5))
    assert services.payment_confirm(order=first, payment_method=token) == "paid"
    assert services.payment_confirm(order=second, payment_method=token) == "awaiting_payment"
    second.refresh_from_db()
    assert intent_of(stripe_on.STRIPE_API_BASE, second)["status"] == "requires_payment_method"


@pytest.mark.parametrize("completed", [True, False])
def test_a_card_that_asks_for_3_d_secure_is_paid_only_once_the_shopper_completes_it(
    stripe_on, completed
):
    base = stripe_on.STRIPE_API_BASE
    product = make_product(stock=5)
    order = place_awaiting(product, 2)
    with pytest.raises(services.AuthenticationRequired) as required:
        services.payment_confirm(order=order, payment_method=card_token(base, THREE_D_SECURE))
    assert (status(order), outbox()) == ("awaiting_payment", [])
    order.refresh_from_db()
    authenticate(base, order.payment_reference, required.value.client_secret, completed)
    assert services.payment_settle(order=order) == ("paid" if completed else "awaiting_payment")
    assert len(outbox()) == int(completed)
    assert stock(product) == 3  # failed: the shopper may try another card, stock still held


def test_the_succeeded_webhook_alone_pays_the_order_once(client, stripe_on):
    order = place_awaiting(make_product(stock=5))
    intent = paid_at_stripe(stripe_on.STRIPE_API_BASE, order)
    event = event_for(intent, "payment_intent.succeeded")
    assert [deliver(client, event) for _ in range(3)] == [200, 200, 200]
    assert StripeEvent.objects.count() == 1
    assert DBTaskResult.objects.filter(task_path="payments.tasks.process_event").count() == 1
    assert len(outbox()) == 1
    assert status(order) == "paid"


def test_a_declined_card_cancels_the_order_and_returns_the_stock_once(client, stripe_on):
    product = make_product(stock=10)
    order = place_awaiting(product, 3)
    card = card_token(stripe_on.STRIPE_API_BASE, DECLINED)
    with pytest.raises(services.PaymentDeclined, match="declined"):
        services.payment_confirm(order=order, payment_method=card)
    assert (status(order), stock(product)) == ("cancelled", 10)
    order.refresh_from_db()
    intent = stripe_api(
        stripe_on.STRIPE_API_BASE, "GET", f"/v1/payment_intents/{order.payment_reference}"
    )
    assert intent["status"] == "canceled"  # nobody can pay it later
    assert deliver(client, event_for(intent, "payment_intent.payment_failed")) == 200
    assert outbox() == []
    assert (status(order), stock(product)) == ("cancelled", 10)


def test_the_payment_failed_webhook_cancels_the_order_once(client, stripe_on):
    product = make_product(stock=4)
    order = place_awaiting(product, 4)
    intent = intent_of(stripe_on.STRIPE_API_BASE, order)
    event = event_for(intent, "payment_intent.payment_failed")
    assert [deliver(client, event), deliver(client, event)] == [200, 200]
    run_due_tasks()
    assert (status(order), stock(product)) == ("cancelled", 4)
    assert StripeEvent.objects.get().outcome == "order cancelled"


def test_a_payment_that_succeeds_after_the_order_was_cancelled_is_refunded(client, stripe_on):
    """Out of order: the failure's webhook cancels the order, then Stripe reports success
    (the shopper paid with another card meanwhile): the saga compensates with a refund."""
    product = make_product(stock=6)
    order = place_awaiting(product, 1)
    base = stripe_on.STRIPE_API_BASE
    intent = paid_at_stripe(base, order)
    assert deliver(client, event_for(intent, "payment_intent.payment_failed")) == 200
    run_due_tasks()
    assert deliver(client, event_for(intent, "payment_intent.succeeded")) == 200
    assert outbox() == []
    assert (status(order), stock(product)) == ("cancelled", 6)
    assert refunds_of(base, intent["id"]) == [intent["amount"]]


def test_a_bad_signature_is_refused_and_changes_nothing(client, stripe_on):
    order = place_awaiting(make_product())
    intent = intent_of(stripe_on.STRIPE_API_BASE, order)
    event = event_for(intent, "payment_intent.succeeded")
    assert deliver(client, event, secret="whsec_someone_else") == 400
    assert (
        client.post("/payments/webhook/", b"{}", content_type="application/json").status_code == 400
    )
    assert client.get("/payments/webhook/").status_code == 405
    assert (StripeEvent.objects.count(), DBTaskResult.objects.count()) == (0, 0)
    assert status(order) == "awaiting_payment"


def test_a_webhook_body_past_the_limit_is_refused_unread(client, stripe_on):
    body = b"x" * (256 * 1024 + 1)
    response = client.post("/payments/webhook/", body, content_type="application/json")
    assert response.status_code == 413
    assert StripeEvent.objects.count() == 0


def test_an_instance_that_died_before_recording_its_intent_resumes_with_the_same_one(stripe_on):
    """The first PaymentIntent reached Stripe but its id never reached the order: the next
    attempt sends the same idempotency key and gets that intent back, so the order has one
    intent and is charged once."""
    product = make_product(stock=3)
    order = place_awaiting(product)
    first = services.payment_start(order=order)
    Order.objects.filter(pk=order.pk).update(payment_reference="")  # the record was lost
    order.refresh_from_db()
    assert services.payment_start(order=order) == first
    assert services.payment_confirm(order=order, payment_method="pm_card_visa") == "paid"
    intents = intents_for(stripe_on.STRIPE_API_BASE, order)
    assert [i["id"] for i in intents] == [first]
    charges = stripe_list(stripe_on.STRIPE_API_BASE, "/v1/charges")
    assert [c["payment_intent"] for c in charges].count(first) == 1


def test_the_sweep_cancels_an_abandoned_order_and_returns_the_stock_once(stripe_on):
    product = make_product(stock=10)
    abandoned = place_awaiting(product, 2)
    services.payment_start(order=abandoned)
    never_opened = place_awaiting(product, 1)  # no intent was ever created for it
    recent = place_awaiting(product, 3)
    overdue = timezone.now() - timedelta(minutes=31)
    Order.objects.filter(pk__in=[abandoned.pk, never_opened.pk]).update(created_at=overdue)
    assert services.payments_sweep() == "0 paid, 2 cancelled, 0 waiting (overdue orders)"
    assert services.payments_sweep() == "0 paid, 0 cancelled, 0 waiting (overdue orders)"
    assert [status(abandoned), status(never_opened), status(recent)] == [
        "cancelled",
        "cancelled",
        "awaiting_payment",
    ]
    assert stock(product) == 7
    for order in (abandoned, never_opened):
        order.refresh_from_db()
        intent = stripe_api(
            stripe_on.STRIPE_API_BASE, "GET", f"/v1/payment_intents/{order.payment_reference}"
        )
        assert intent["status"] == "canceled"


def test_the_sweep_pays_an_order_whose_webhook_never_came(stripe_on):
    order = place_awaiting(make_product(stock=2))
    paid_at_stripe(stripe_on.STRIPE_API_BASE, order)
    Order.objects.filter(pk=order.pk).update(created_at=timezone.now() - timedelta(minutes=31))
    assert services.payments_sweep() == "1 paid, 0 cancelled, 0 waiting (overdue orders)"
    assert status(order) == "paid"
    assert len(outbox()) == 1


def test_while_stripe_is_down_overdue_orders_keep_waiting(stripe_on):
    from deploy.servers import free_port

    product = make_product(stock=5)
    order = place_awaiting(product, 2)
    Order.objects.filter(pk=order.pk).update(created_at=timezone.now() - timedelta(minutes=31))
    stripe_on.STRIPE_API_BASE = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    services._client.cache_clear()
    assert services.payments_sweep() == "0 paid, 0 cancelled, 1 waiting (overdue orders)"
    with pytest.raises(services.PaymentUnavailable):
        services.payment_start(order=order)
    assert (status(order), stock(product)) == ("awaiting_payment", 3)


def test_a_refund_goes_back_through_stripe_once_and_returns_the_stock(stripe_on):
    product = make_product(stock=5)
    order = place_awaiting(product, 2)
    services.payment_confirm(order=order, payment_method="pm_card_visa")
    assert services.order_refund(order_id=order.pk)
    assert not services.order_refund(order_id=order.pk)
    assert (status(order), stock(product)) == ("refunded", 5)
    order.refresh_from_db()
    assert refunds_of(stripe_on.STRIPE_API_BASE, order.payment_reference) == [
        int(order.total * 100)
    ]


def test_a_card_payment_is_not_cancelled_without_its_refund(stripe_on):
    from cart.services import order_change_status

    product = make_product(stock=5)
    order = place_awaiting(product, 1)
    services.payment_confirm(order=order, payment_method="pm_card_visa")
    assert not order_change_status(order_id=order.pk, status="cancelled")
    assert (status(order), stock(product)) == ("paid", 4)


def test_only_one_email_per_paid_order(stripe_on):
    order = place_awaiting(make_product())
    services.payment_confirm(order=order, payment_method="pm_card_visa")
    intent_id = Order.objects.get(pk=order.pk).payment_reference
    assert not services.order_pay(order_id=order.pk, intent_id=intent_id)
    assert Email.objects.filter(key=f"order_confirmation:{order.pk}").count() == 1


def test_applied_events_are_pruned_after_30_days_and_waiting_ones_kept():
    now = timezone.now()

    def event(name: str, days_ago: int, applied: bool) -> None:
        at = now - timedelta(days=days_ago)
        StripeEvent.objects.create(
            event_id=name,
            type="payment_intent.succeeded",
            payload={},
            received_at=at,
            processed_at=at if applied else None,
        )

    event("evt_old", 31, applied=True)
    event("evt_recent", 29, applied=True)
    event("evt_waiting", 31, applied=False)
    assert services.events_prune() == 1
    assert set(StripeEvent.objects.values_list("event_id", flat=True)) == {
        "evt_recent",
        "evt_waiting",
    }
