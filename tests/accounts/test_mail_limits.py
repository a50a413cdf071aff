"""Account emails within a quota: nobody can use the shop to flood an inbox, and the limit
never tells a visitor whether an address has an account."""

import threading

import pytest
from django.db import connection
from django.test import Client, override_settings

from accounts.models import User
from accounts.services import email_quota_take
from tests.accounts.helpers import PASSWORD, sign_up
from tests.mail import outbox

pytestmark = pytest.mark.django_db


@pytest.fixture
def carol():
    return User.objects.create_user("carol@example.com", PASSWORD, email_verified=True)


def reset(client, email, **headers):
    return client.post("/accounts/password/reset/", {"email": email}, **headers)


def from_client(n: int) -> Client:
    return Client(REMOTE_ADDR=f"198.51.100.{n}")


def test_a_mail_bomb_at_one_address_stops_after_three(carol):
    """The attack: sign-ups ("you already have an account") and password resets for one
    address, from many clients, in every letter case."""
    answers = set()
    for n in range(22):
        client = from_client(n)
        email = "Carol@Example.com" if n % 2 else "carol@example.com"
        response = sign_up(client, email) if n % 3 else reset(client, email)
        answers.add((response.status_code, response["Location"]))
    assert answers == {(302, "/accounts/signup/done/"), (302, "/accounts/password/reset/sent/")}
    # Three asks had room; the queue may merge some of those (one notice an hour).
    delivered = [m.to for m in outbox()]
    assert 1 <= len(delivered) <= 3 and set(map(tuple, delivered)) == {("carol@example.com",)}


def test_one_client_gets_twenty_account_emails_an_hour():
    client = from_client(1)
    for n in range(30):
        assert sign_up(client, f"new{n}@example.com").status_code == 302
    assert len(outbox()) == 20
    sign_up(from_client(2), "new29@example.com")  # another client: its own quota
    assert len(outbox()) == 21


def test_past_the_limit_nothing_is_written_and_the_page_is_the_same(carol):
    for _ in range(3):
        sign_up(from_client(1), "dave@example.com", display_name="Dave")
        sign_up(from_client(1), "carol@example.com")
    sent = len(outbox())

    def page(email):
        client = from_client(9)
        done = sign_up(client, email, display_name="Mallory")
        return done.status_code, done["Location"], client.get(done["Location"]).content

    # Pending (dave), registered (carol), both past the limit; a fresh address (erin).
    assert page("dave@example.com") == page("carol@example.com") == page("erin@example.com")
    assert [m.to for m in outbox()[sent:]] == [["erin@example.com"]]
    assert User.objects.get(email="dave@example.com").display_name == "Dave"


@override_settings(PROXY_COUNT=1)
def test_the_client_is_the_one_the_load_balancer_saw():
    for n in range(25):
        # The load balancer appends the peer it saw; what the client wrote stays on the left.
        forged = {"HTTP_X_FORWARDED_FOR": f"10.0.0.{n}, 203.0.113.7"}
        sign_up(Client(**forged), f"someone{n}@example.com")
    assert len(outbox()) == 20


@pytest.mark.django_db(transaction=True)
def test_concurrent_asks_get_exactly_the_limit():
    """Ten instances' requests for one address at once: three emails, never more."""
    start = threading.Barrier(10)
    results = []

    def ask(n):
        start.wait()
        try:
            results.append(email_quota_take(address="carol@example.com", client=f"c{n}"))
        finally:
            connection.close()

    threads = [threading.Thread(target=ask, args=(n,)) for n in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [False] * 7 + [True] * 3
