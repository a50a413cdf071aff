"""Webhooks through real gunicorn instances: the fake Stripe delivers its own signed event
to one instance and that instance's worker pays the order; the same event sent to two
instances at once, many times over, is recorded and applied once."""

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from django_tasks_db.models import DBTaskResult

from cart.models import Order
from notifications.models import Email
from payments.models import StripeEvent
from tests.conftest import WEBHOOK_SECRET
from tests.factories import make_product
from tests.payments.helpers import event_for, intent_of, paid_at_stripe, place_awaiting, signed
from tests.servers import start_app_server

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.servers]
NOTHING = ["nothing"]  # an event type that never happens: the webhook endpoint is switched off


@pytest.fixture(scope="module")
def instances(django_db_setup, django_db_blocker, stripe_server, stripe_environment):
    with django_db_blocker.unblock():
        pair = [
            start_app_server("pay-a", workers=1, **stripe_environment),
            start_app_server("pay-b", workers=1, mail=False, **stripe_environment),
        ]
    stripe_server.register_webhook("shop", f"{pair[0].url}/payments/webhook/", WEBHOOK_SECRET)
    yield pair
    stripe_server.register_webhook("shop", pair[0].url, WEBHOOK_SECRET, events=NOTHING)
    for server in pair:
        server.stop()


def wait_for(condition, timeout: float = 20.0):
    """Poll `condition` until it returns something true (the worker's work is done), or
    give its last value after `timeout`."""
    deadline = time.monotonic() + timeout
    while not (value := condition()) and time.monotonic() < deadline:
        time.sleep(0.1)
    return value


def status(order) -> str:
    return Order.objects.values_list("status", flat=True).get(pk=order.pk)


def wait_for_status(order, expected: str) -> str:
    """The order's status once the worker made it `expected`, or as it is after the wait."""
    wait_for(lambda: status(order) == expected)
    return status(order)


def blast(instances, payload: bytes, signature: str, times: int) -> list[int]:
    """POST the same webhook `times` times at once, alternating between the instances."""

    def post(n):
        return requests.post(
            f"{instances[n % 2].url}/payments/webhook/",
            data=payload,
            headers={"Stripe-Signature": signature, "Content-Type": "application/json"},
            timeout=30,
        ).status_code

    with ThreadPoolExecutor(8) as pool:
        return list(pool.map(post, range(times)))


def test_stripes_own_webhook_pays_the_order_through_an_instance(instances, stripe_on):
    order = place_awaiting(make_product(stock=4), 2)
    intent = paid_at_stripe(stripe_on.STRIPE_API_BASE, order)
    assert wait_for_status(order, "paid") == "paid"
    # Only this payment's: an event of an earlier test may reach the endpoint too.
    events = StripeEvent.objects.filter(payload__data__object__id=intent["id"])
    processed = wait_for(lambda: list(events.filter(processed_at__isnull=False)))
    assert [(e.type, e.outcome) for e in processed] == [("payment_intent.succeeded", "order paid")]
    assert Email.objects.filter(key=f"order_confirmation:{order.pk}").count() == 1
    assert len(wait_for(lambda: instances[0].mail.messages(to=order.email))) == 1


def test_one_event_at_two_instances_at_once_is_one_transition(instances, stripe_on):
    product = make_product(stock=5)
    order = place_awaiting(product, 1)
    intent = intent_of(stripe_on.STRIPE_API_BASE, order)
    event = event_for(intent, "payment_intent.payment_failed")
    payload, signature = signed(event)
    assert blast(instances, payload, signature, 24) == [200] * 24
    assert wait_for_status(order, "cancelled") == "cancelled"
    assert StripeEvent.objects.filter(event_id=event["id"]).count() == 1
    tasks = DBTaskResult.objects.filter(task_path="payments.tasks.process_event")
    assert [t.args_kwargs["kwargs"]["event_id"] for t in tasks].count(event["id"]) == 1
    product.refresh_from_db()
    assert product.stock == 5  # returned once
