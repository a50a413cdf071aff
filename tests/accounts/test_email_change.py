"""Changing the login address: a link to the new address confirms it, the old one is told."""

import re
from datetime import timedelta

import pytest
from django.test import Client

from accounts.models import User
from accounts.tokens import email_change_token
from cart.models import Order
from tests.accounts.helpers import PASSWORD
from tests.factories import make_product
from tests.mail import outbox

pytestmark = pytest.mark.django_db
LINK = r"http://testserver(/accounts/email/confirm/\S+/)"


@pytest.fixture
def ann(client):
    user = User.objects.create_user("ann@example.com", PASSWORD, email_verified=True)
    client.force_login(user)
    return user


def ask(client, email="ann@new.example", password=PASSWORD):
    return client.post("/accounts/email/", {"email": email, "password": password})


def mail_to(address: str) -> list:
    return [message for message in outbox() if message.to == [address]]


def confirm_link() -> str:
    [message] = mail_to("ann@new.example")
    return re.search(LINK, message.body).group(1)


def test_the_login_changes_only_when_the_new_address_confirms(client, ann):
    response = ask(client, "Ann@New.Example")
    assert response.status_code == 200 and b"Check your new mailbox" in response.content
    ann.refresh_from_db()
    assert (ann.email, ann.pending_email) == ("ann@example.com", "ann@new.example")
    [notice] = mail_to("ann@example.com")
    assert "ann@new.example" in notice.body
    link = confirm_link()
    page = Client().get(link)  # a mail scanner opening the link changes nothing
    assert page.status_code == 200 and b"ann@new.example" in page.content
    assert User.objects.get(pk=ann.pk).email == "ann@example.com"
    assert Client().post(link).status_code == 302
    ann.refresh_from_db()
    assert (ann.email, ann.pending_email, ann.email_verified) == ("ann@new.example", "", True)
    assert (
        Client()
        .post("/accounts/login/", {"username": "ann@new.example", "password": PASSWORD})
        .status_code
        == 302
    )


def test_the_link_works_once(client, ann):
    ask(client)
    link = confirm_link()
    Client().post(link)
    assert Client().post(link).status_code == 400
    assert Client().get(link).status_code == 400


def test_asking_again_voids_the_earlier_link(client, ann):
    ask(client)
    first = confirm_link()
    outbox().clear()
    ask(client, "ann@newer.example")
    assert Client().post(first).status_code == 400
    ann.refresh_from_db()
    assert ann.email == "ann@example.com"


def test_the_link_expires(client, ann, monkeypatch):
    ask(client)
    link = confirm_link()
    later = email_change_token._now() + timedelta(days=4)
    monkeypatch.setattr(email_change_token, "_now", lambda: later)
    assert Client().post(link).status_code == 400
    assert User.objects.get(pk=ann.pk).email == "ann@example.com"


def test_an_address_with_an_account_is_told_not_changed(client, ann):
    User.objects.create_user("ann@new.example", PASSWORD, email_verified=True)
    response = ask(client)
    assert response.status_code == 200 and b"Check your new mailbox" in response.content
    [taken] = mail_to("ann@new.example")
    assert "already" in taken.body and "/accounts/email/confirm/" not in taken.body
    assert len(mail_to("ann@example.com")) == 1
    ann.refresh_from_db()
    assert ann.email == "ann@example.com"


def test_an_address_taken_before_confirming_changes_nothing(client, ann):
    ask(client)
    link = confirm_link()
    User.objects.create_user("ann@new.example", PASSWORD)
    assert Client().post(link).status_code == 409
    assert User.objects.get(pk=ann.pk).email == "ann@example.com"


def test_guest_orders_of_the_new_address_come_along(client, ann):
    product = make_product()
    guest = Order.objects.create(
        email="ann@new.example",
        idempotency_key="00000000-0000-0000-0000-000000000001",
        total=product.price,
        payment_reference="TEST",
        full_name="Ann",
        line1="1 Road",
        city="Leeds",
        postcode="LS1",
        country="UK",
    )
    ask(client)
    Client().post(confirm_link())
    guest.refresh_from_db()
    assert guest.user_id == ann.pk


@pytest.mark.parametrize(
    "data, field",
    [
        ({"email": "ann@example.com", "password": PASSWORD}, "email"),  # already hers
        ({"email": "not-an-address", "password": PASSWORD}, "email"),
        ({"email": "x" * 250 + "@example.com", "password": PASSWORD}, "email"),
        ({"email": "ann@new.example", "password": "wrong-one"}, "password"),
    ],
)
def test_bad_input_is_a_form_error_and_sends_nothing(client, ann, data, field):
    response = client.post("/accounts/email/", data)
    assert response.status_code == 200 and field in response.context["form"].errors
    assert not outbox()
    assert User.objects.get(pk=ann.pk).pending_email == ""


@pytest.mark.parametrize(
    "link", ["/accounts/email/confirm/MQ/bad-token/", "/accounts/email/confirm/zzz/1-2/"]
)
def test_tampered_links_are_invalid(link):
    assert Client().post(link).status_code == 400


def test_email_change_needs_login_and_csrf(ann):
    assert Client().get("/accounts/email/")["Location"].startswith("/accounts/login/")
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(ann)
    assert ask(strict).status_code == 403
