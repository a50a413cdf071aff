"""Side effects leave the request: with the mail server (SES's stand-in) down, shoppers
still sign up, reset passwords and place orders, and when it comes back every email
arrives exactly once, delivered by the instances' workers."""

import time
from collections import Counter
from datetime import UTC, datetime
from itertools import count

import pytest

from tests.stack import shop
from tests.stack.conftest import PASSWORD
from tests.stack.load import FIGURES

pytestmark = pytest.mark.stack

# DJANGO_ACCOUNT_EMAILS_PER_ADDRESS's default: resets past it are (rightly) not sent.
EMAILS_PER_ADDRESS = 3
DOWN_SECONDS = 20
ARRIVAL_SECONDS = 30
_visitors = count()


def test_mail_down_for_20_s_fails_no_request_and_every_email_arrives_once(
    serving, shoppers, products
):
    stack = serving
    started = datetime.now(UTC)
    expected: Counter = Counter()  # (recipient, kind) -> emails the shop owes
    outcomes: list[shop.Outcome] = []
    stack.stop_mail()
    down_at = time.monotonic()
    round_number = 0
    while time.monotonic() - down_at < DOWN_SECONDS:
        visitor = f"visitor{next(_visitors)}-{started:%H%M%S}@example.com"
        outcome = shop.sign_up(stack.url, visitor, PASSWORD)
        outcomes.append(outcome)
        if outcome.ok:
            expected[visitor, "confirm_sign_up"] += 1
        # A different shopper each round (a reset link is one per shopper and second), and
        # no more than the account emails' quota lets one address have in an hour.
        resetting = shoppers[round_number % len(shoppers)]
        if expected[resetting.email, "password_reset"] < EMAILS_PER_ADDRESS:
            outcome = resetting.request_password_reset()
            outcomes.append(outcome)
            if outcome.ok:
                expected[resetting.email, "password_reset"] += 1
        buyer = shoppers[(round_number + 1) % len(shoppers)]
        confirmed = len(buyer.orders)
        outcomes += buyer.place_order(products[round_number % len(products)][0])
        if len(buyer.orders) > confirmed:  # the order's page showed it
            expected[buyer.email, "order_confirmation"] += 1
        round_number += 1
        time.sleep(0.5)
    queue_at_return = stack.mail_queue()
    stack.start_mail()
    back_at = time.monotonic()

    def arrived() -> Counter:
        return Counter(
            (message["To"], message["X-Shop-Kind"])
            for message in stack.mail.messages()
            if datetime.fromisoformat(message["X-Accepted-At"]) > started
        )

    while arrived() != expected and time.monotonic() - back_at < ARRIVAL_SECONDS:
        time.sleep(0.2)
    last_arrival = time.monotonic() - back_at
    got = arrived()
    errors = [str(o) for o in outcomes if o.status is None or o.status >= 500]
    FIGURES.append(
        f"[mail down {DOWN_SECONDS} s] {len(outcomes)} requests, {len(errors)} without an "
        f"answer or 5xx; {sum(expected.values())} emails owed ({queue_at_return} when mail "
        f"came back), {sum(got.values())} arrived, the last {last_arrival:.1f} s after it "
        f"came back; duplicates {sum((got - expected).values())}"
    )
    assert errors == []
    assert all(o.ok for o in outcomes), [str(o) for o in outcomes if not o.ok]
    assert {kind for _, kind in expected} == {
        "confirm_sign_up",
        "password_reset",
        "order_confirmation",
    }
    assert got == expected  # every email, exactly once each
    assert last_arrival < ARRIVAL_SECONDS
