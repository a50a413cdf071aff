"""The checkout saga: an order paid by card through a Stripe PaymentIntent.

The saga's state is the order's status in PostgreSQL, so any instance, or a worker after a
crash, carries it on:

    awaiting_payment ──payment succeeded──► paid ──admin refund──► refunded (stock back)
           └──payment failed, or no payment within the timeout──► cancelled (stock back)

Each transition has one function here and is one conditional UPDATE on the order's status
(cart.services.order_transition): a webhook delivered twice, to two instances at once, out
of order or after the timeout changes nothing the second time, and stock goes back once.
Every call that creates something at Stripe carries an idempotency key derived from the
order, so a call repeated after a crash gets the first call's object: one PaymentIntent and
at most one charge per order, one refund per order.

Compensation: a payment that succeeds for an order already cancelled (the shopper paid
as the timeout struck) is refunded by the worker that learns of it.
"""

import contextlib
import logging
import re
from datetime import timedelta
from decimal import Decimal
from functools import cache

import stripe
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from cart.models import INTENT_PREFIX, Order
from cart.services import order_confirmation_send, order_transition
from payments.models import StripeEvent
from payments.tasks import process_event

logger = logging.getLogger(__name__)

CURRENCY = "usd"  # the shop's prices are dollars
# What the payment page posts: a PaymentMethod (pm_..., e.g. Stripe's test pm_card_visa) or
# the single-use token Stripe.js made of the card element (tok_...).
PAYMENT_METHOD_RE = re.compile(r"(pm|tok)_[A-Za-z0-9_]{1,200}")
STRIPE_TIMEOUT = 10  # seconds for each call to Stripe: a page or the sweep never hangs on it


class PaymentUnavailable(Exception):
    """Stripe did not answer: the order keeps waiting, nothing is lost."""


class PaymentDeclined(Exception):
    """The card was refused; the message is Stripe's words for the shopper."""


class AuthenticationRequired(Exception):
    """The card's bank asks the shopper to authenticate (3-D Secure): Stripe.js does that
    in the browser with the intent's client secret, then the page settles the order."""

    def __init__(self, client_secret: str):
        super().__init__("authentication required")
        self.client_secret = client_secret


@cache
def _client() -> stripe.StripeClient:
    base = {"api": settings.STRIPE_API_BASE} if settings.STRIPE_API_BASE else {}
    return stripe.StripeClient(
        settings.STRIPE_SECRET_KEY,
        base_addresses=base,
        http_client=stripe.RequestsClient(timeout=STRIPE_TIMEOUT),
        max_network_retries=2,  # with the idempotency keys, a retry never doubles anything
    )


def _cents(amount: Decimal) -> int:
    return int(amount * 100)


def _intent(order: Order) -> stripe.PaymentIntent:
    """The order's PaymentIntent: created under the order's idempotency key, so a second
    call (after an instance died before recording the first) returns the same intent."""
    if order.payment_reference:
        return _client().v1.payment_intents.retrieve(order.payment_reference)
    intent = _client().v1.payment_intents.create(
        params={
            "amount": _cents(order.total),
            "currency": CURRENCY,
            "metadata": {"order": str(order.pk)},
        },
        options={"idempotency_key": f"order-{order.idempotency_key}"},
    )
    Order.objects.filter(pk=order.pk, payment_reference="").update(payment_reference=intent.id)
    order.payment_reference = intent.id
    return intent


def payment_start(*, order: Order) -> str:
    """The id of the order's PaymentIntent, created and recorded if need be (the payment
    page calls this); raises PaymentUnavailable when Stripe does not answer."""
    try:
        return _intent(order).id
    except stripe.StripeError as error:
        logger.warning("Stripe unavailable for %s: %s", order, error)
        raise PaymentUnavailable from error


def payment_confirm(*, order: Order, payment_method: str) -> str:
    """Pay the order with `payment_method` (what Stripe.js made of the card, or a test
    PaymentMethod such as pm_card_visa); returns the order's new status.

    The outcome is applied at once by the same transitions the webhooks use, so the
    shopper sees it on the next page; the webhook that follows then changes nothing.
    A declined card cancels the order (stock back) and raises PaymentDeclined; a card that
    needs 3-D Secure raises AuthenticationRequired, the order waiting meanwhile.
    """
    intent_id = payment_start(order=order)
    payment_intents = _client().v1.payment_intents
    try:
        if payment_method.startswith("tok_"):
            # Stripe makes a card PaymentMethod of a token (`card[token]`), using it up.
            payment_method = (
                _client()
                .v1.payment_methods.create(
                    params={"type": "card", "card": {"token": payment_method}}
                )
                .id
            )
        payment_intents.update(intent_id, params={"payment_method": payment_method})
        intent = payment_intents.confirm(intent_id)
    except stripe.CardError as error:
        _intent_cancel(intent_id)
        order_payment_cancel(order_id=order.pk)
        raise PaymentDeclined(error.user_message or "Your card was declined.") from error
    except stripe.InvalidRequestError:
        # Confirmed already (a double submit, another tab): what Stripe has decides.
        intent = _retrieve_or_unavailable(intent_id)
    except stripe.StripeError as error:
        raise PaymentUnavailable from error
    if intent.status == "requires_action":
        raise AuthenticationRequired(intent.client_secret)
    _settle(order.pk, intent)
    return _status(order.pk)


def payment_settle(*, order: Order) -> str:
    """Apply what Stripe says of the order's intent now (the shopper is back from
    authenticating the card, or opened the payment page again); returns the order's status.
    Raises PaymentUnavailable when Stripe does not answer."""
    if order.payment_reference:
        _settle(order.pk, _retrieve_or_unavailable(order.payment_reference))
    return _status(order.pk)


def _status(order_id: int) -> str:
    """The order's status as the transitions left it."""
    return Order.objects.values_list("status", flat=True).get(pk=order_id)


def _retrieve_or_unavailable(intent_id: str) -> stripe.PaymentIntent:
    try:
        return _client().v1.payment_intents.retrieve(intent_id)
    except stripe.StripeError as error:
        raise PaymentUnavailable from error


def _intent_cancel(intent_id: str) -> None:
    """Cancel the intent at Stripe so it can no longer be paid; one that already succeeded
    or was cancelled stays as it is (Stripe refuses: nothing to do)."""
    with contextlib.suppress(stripe.InvalidRequestError):
        _client().v1.payment_intents.cancel(intent_id)


def _settle(order_id: int, intent: stripe.PaymentIntent) -> None:
    """Apply what Stripe says of the intent: succeeded pays the order, canceled cancels it;
    any other status (requires action, processing) leaves it waiting."""
    if intent.status == "succeeded":
        order_pay(order_id=order_id, intent_id=intent.id)
    elif intent.status == "canceled":
        order_payment_cancel(order_id=order_id)


# --- The transitions: one function each, one conditional UPDATE each ------------------------


def order_pay(*, order_id: int, intent_id: str) -> bool:
    """awaiting_payment → paid, with the confirmation email queued in the same transaction;
    False when the order was not waiting (paid already, or cancelled: then the payment is
    refunded, the saga's compensation)."""
    with transaction.atomic():
        paid = order_transition(
            order_id=order_id,
            to=Order.Status.PAID,
            expected=[Order.Status.AWAITING_PAYMENT],
            where=Q(payment_reference__in=["", intent_id]),
        )
        if paid:
            Order.objects.filter(pk=order_id).update(payment_reference=intent_id)
            order_confirmation_send(order=Order.objects.get(pk=order_id))
    if not paid and Order.objects.filter(pk=order_id, status=Order.Status.CANCELLED).exists():
        logger.warning(
            "Order %s was cancelled before its payment %s: refunding", order_id, intent_id
        )
        _refund(intent_id)
    return paid


def order_payment_cancel(*, order_id: int) -> bool:
    """awaiting_payment → cancelled, its stock back (the same UPDATE as an admin cancel);
    False, changing nothing, when the order was not waiting."""
    return order_transition(
        order_id=order_id, to=Order.Status.CANCELLED, expected=[Order.Status.AWAITING_PAYMENT]
    )


def order_refund(*, order_id: int) -> bool:
    """paid → refunded: the money goes back through Stripe, then the stock returns as an
    admin cancel returns it (a paid order has not shipped). False when the order is not a
    card payment that is paid. The refund's idempotency key is the intent's, so an admin
    who clicks twice, or retries after an error, refunds once."""
    order = Order.objects.filter(
        pk=order_id, status=Order.Status.PAID, payment_reference__startswith=INTENT_PREFIX
    ).first()
    if order is None:
        return False
    _refund(order.payment_reference)
    return order_transition(
        order_id=order_id, to=Order.Status.REFUNDED, expected=[Order.Status.PAID]
    )


def _refund(intent_id: str) -> None:
    _client().v1.refunds.create(
        params={"payment_intent": intent_id}, options={"idempotency_key": f"refund-{intent_id}"}
    )


# --- Webhooks ----------------------------------------------------------------------------------

_RECORD_SQL = """
INSERT INTO payments_stripeevent (event_id, type, payload, received_at, outcome)
VALUES (%s, %s, %s, %s, '')
ON CONFLICT (event_id) DO NOTHING
RETURNING id
"""


def event_record(*, payload: bytes, signature: str) -> bool:
    """Verify a webhook's signature and record the event once, with the task that applies
    it in the same transaction; True if it was new. Raises ValueError (bad JSON) or
    stripe.SignatureVerificationError, recording nothing.

    The insert is `ON CONFLICT (event_id) DO NOTHING`: of the same event delivered twice,
    or to two instances at once, exactly one insert succeeds and enqueues its processing.
    """
    event = stripe.Webhook.construct_event(payload, signature, settings.STRIPE_WEBHOOK_SECRET)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_RECORD_SQL, [event.id, event.type, payload.decode(), timezone.now()])
        created = cursor.fetchone() is not None
        if created:
            process_event.enqueue(event_id=event.id)
    return created


def event_process(*, event_id: str) -> str:
    """Apply a recorded event to its order (the worker runs this); returns what it did."""
    event = StripeEvent.objects.get(event_id=event_id)
    intent = event.payload["data"]["object"]
    order_id = int(intent.get("metadata", {}).get("order", 0)) or (
        Order.objects.filter(payment_reference=intent["id"]).values_list("pk", flat=True).first()
    )
    if not order_id:
        outcome = "no order for this payment"
    elif event.type == "payment_intent.succeeded":
        changed = order_pay(order_id=order_id, intent_id=intent["id"])
        outcome = "order paid" if changed else "order was not awaiting payment"
    elif event.type == "payment_intent.payment_failed":
        _intent_cancel(intent["id"])
        changed = order_payment_cancel(order_id=order_id)
        outcome = "order cancelled" if changed else "order was not awaiting payment"
    else:
        outcome = "ignored"
    StripeEvent.objects.filter(pk=event.pk).update(processed_at=timezone.now(), outcome=outcome)
    return outcome


# Stripe sends an event again for up to 3 days until an endpoint answers it with a 2xx: an id
# kept for 30 days still recognises every such delivery.
EVENTS_KEPT_DAYS = 30


def events_prune(*, days: int = EVENTS_KEPT_DAYS) -> int:
    """Delete the events applied more than `days` ago (the prune_history job); returns how
    many. An event not applied yet stays for its worker."""
    cutoff = timezone.now() - timedelta(days=days)
    deleted, _ = StripeEvent.objects.filter(processed_at__lt=cutoff).delete()
    return deleted


# --- The timeout -------------------------------------------------------------------------------


def payments_sweep(*, now=None) -> str:
    """Resolve the orders that waited longer than SHOP_PAYMENT_TIMEOUT_MINUTES (the
    scheduled job `payments_sweep`, every minute): Stripe's word on each intent decides;
    one that did not succeed is cancelled at Stripe, then the order is cancelled, its
    stock back. While Stripe does not answer the orders keep waiting: nothing is lost, and
    the next run tries again."""
    if not settings.STRIPE_ENABLED:
        return "Stripe is off"
    cutoff = (now or timezone.now()) - timedelta(minutes=settings.PAYMENT_TIMEOUT_MINUTES)
    overdue = Order.objects.filter(status=Order.Status.AWAITING_PAYMENT, created_at__lt=cutoff)
    counts = {"paid": 0, "cancelled": 0, "waiting": 0}
    for order in overdue.order_by("pk"):
        try:
            intent = _intent(order)
            if intent.status not in {"succeeded", "canceled", "processing"}:
                _intent_cancel(intent.id)
                intent = _client().v1.payment_intents.retrieve(intent.id)
        except stripe.StripeError as error:
            logger.warning("payments sweep: Stripe unavailable, orders keep waiting: %s", error)
            counts["waiting"] += overdue.filter(pk__gte=order.pk).count()
            break
        _settle(order.pk, intent)
        status = _status(order.pk)
        key = {Order.Status.PAID: "paid", Order.Status.CANCELLED: "cancelled"}.get(status)
        counts[key or "waiting"] += 1
    return ", ".join(f"{n} {what}" for what, n in counts.items()) + " (overdue orders)"
