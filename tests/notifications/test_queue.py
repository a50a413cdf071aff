"""The mail queue's rules, in this process on the test database: enqueue joins the
caller's transaction, one event makes one email, failures retry with backoff or end as
dead letters that the admin retries, and bad input is refused at enqueue."""

import smtplib
from datetime import timedelta

import boto3
import pytest
import requests
from botocore.exceptions import ClientError, EndpointConnectionError
from django.db import transaction
from django.test import Client
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from accounts.models import User
from notifications.models import MAX_BODY_BYTES, Email
from notifications.services import (
    EmailRejected,
    email_deliver,
    email_enqueue,
    emails_reclaim_abandoned,
    is_transient,
    message_id,
)
from tests.accounts.helpers import admin_log_in
from tests.mail import outbox, run_due_tasks
from tests.servers import AWS_TEST_ENVIRONMENT

pytestmark = pytest.mark.django_db


def enqueue(key="order_confirmation:1", to="ann@example.com", **fields) -> Email:
    message = {"kind": "order_confirmation", "subject": "Your order", "body": "Thanks!", **fields}
    return email_enqueue(key=key, to=to, **message)


def test_enqueue_writes_the_email_and_its_task_in_the_callers_transaction():
    with transaction.atomic():
        enqueue()
        assert Email.objects.count() == 1 and DBTaskResult.objects.count() == 1
        transaction.set_rollback(True)  # the order failed after all
    assert not Email.objects.exists() and not DBTaskResult.objects.exists()
    enqueue()
    assert [(m.to, m.subject, m.body) for m in outbox()] == [
        (["ann@example.com"], "Your order", "Thanks!")
    ]
    email = Email.objects.get()
    assert (email.status, email.attempts, email.sent_at is not None) == ("sent", 1, True)
    assert outbox()[0].extra_headers["Message-ID"].endswith("@localhost>")


def test_one_event_queued_twice_is_one_email():
    first = enqueue(key="order_confirmation:7")
    again = enqueue(key="order_confirmation:7", body="a second rendering")
    assert first.pk == again.pk
    assert DBTaskResult.objects.count() == 1
    assert len(outbox()) == 1
    assert email_deliver(email_id=first.pk) == "skipped"  # a stray task sends nothing
    assert len(outbox()) == 1


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"to": "not-an-address"}, "is not an email address"),
        ({"to": "ann@example.com\nBcc: everyone@example.com"}, "is not an email address"),
        ({"to": ""}, "is not an email address"),
        ({"body": "x" * (MAX_BODY_BYTES + 1)}, "the limit is"),
        ({"subject": "Your order\nBcc: everyone@example.com"}, "one line"),
        ({"subject": "s" * 201}, "one line"),
        ({"key": "k" * 201}, "event key"),
        ({"kind": ""}, "kind"),
    ],
)
def test_bad_input_is_refused_at_enqueue_and_nothing_is_queued(fields, reason):
    with pytest.raises(EmailRejected, match=reason):
        enqueue(**fields)
    assert not Email.objects.exists() and not DBTaskResult.objects.exists()


def come_due():
    """The clock moves past every scheduled retry."""
    past = timezone.now() - timedelta(seconds=1)
    Email.objects.filter(status="pending").update(next_attempt_at=past)
    DBTaskResult.objects.filter(status="READY").update(run_after=past)


def test_an_unreachable_mail_server_is_retried_with_backoff_then_dead(settings, smtp):
    settings.EMAIL_PORT = smtp.port + 1 if smtp.port < 65535 else smtp.port - 1  # refused
    settings.MAIL_MAX_ATTEMPTS = 4
    email = enqueue()
    delays = []
    for attempt in range(1, 5):
        started = timezone.now()
        assert run_due_tasks() == 1
        email.refresh_from_db()
        assert email.attempts == attempt
        assert "ConnectionRefusedError" in email.last_error
        if email.status == "pending":
            delays.append((email.next_attempt_at - started).total_seconds())
            come_due()
    assert email.status == "dead"
    # 1, 2, 4 s less up to 20 % jitter: exponential backoff.
    assert [round(d / 2**n, 1) >= 0.8 for n, d in enumerate(delays)] == [True] * 3, delays
    assert all(d < 2**n * 1.05 for n, d in enumerate(delays)), delays
    assert DBTaskResult.objects.filter(status="READY").count() == 0  # nothing retries forever


def test_a_refused_recipient_is_a_dead_letter_at_once_and_the_admin_retries_it(smtp):
    smtp.suppress("ann@example.com")
    email = enqueue(body="Order CS-000042: thanks! Reset link http://secret/")
    run_due_tasks()
    email.refresh_from_db()
    assert (email.status, email.attempts) == ("dead", 1)
    assert "SMTPRecipientsRefused" in email.last_error and "550" in email.last_error
    assert smtp.messages(to="ann@example.com") == []

    admin = Client()
    admin_log_in(admin, User.objects.create_superuser("admin@example.com", "x"), "x")
    listing = admin.get("/admin/notifications/email/", {"status__exact": "dead"})
    assert listing.status_code == 200
    assert b"ann@example.com" in listing.content and b"SMTPRecipientsRefused" in listing.content
    detail = admin.get(f"/admin/notifications/email/{email.pk}/change/")
    assert detail.status_code == 200 and b"http://secret/" not in detail.content

    smtp.suppress()  # the cause is gone (the address left the suppression list)
    response = admin.post(
        "/admin/notifications/email/", {"action": "retry", "_selected_action": [email.pk]}
    )
    assert response.status_code == 302
    run_due_tasks()
    email.refresh_from_db()
    assert email.status == "sent"
    delivered = smtp.messages(to="ann@example.com")
    assert len(delivered) == 1 and "CS-000042" in delivered[0].get_content()
    # Retrying what is not a dead letter changes nothing.
    admin.post("/admin/notifications/email/", {"action": "retry", "_selected_action": [email.pk]})
    assert run_due_tasks() == 0 and len(smtp.messages(to="ann@example.com")) == 1


def test_staff_without_the_change_permission_cannot_retry():
    staff = User.objects.create_user("staff@example.com", "x", is_staff=True)
    staff.user_permissions.add(*staff.user_permissions.model.objects.filter(codename="view_email"))
    client = Client()
    admin_log_in(client, staff, "x")
    listing = client.get("/admin/notifications/email/")
    assert listing.status_code == 200 and b'value="retry"' not in listing.content


@pytest.fixture
def ses(settings, moto_url, monkeypatch):
    """Amazon SES through django-ses, as in production, but on the suite's moto server over
    real HTTP (botocore's own AWS_ENDPOINT_URL_SES); the shop's sender is verified."""
    for name, value in {**AWS_TEST_ENVIRONMENT, "AWS_ENDPOINT_URL_SES": moto_url}.items():
        monkeypatch.setenv(name, value)
    settings.EMAIL_BACKEND = "django_ses.SESBackend"
    settings.AWS_SES_REGION_NAME = AWS_TEST_ENVIRONMENT["AWS_DEFAULT_REGION"]
    client = boto3.client("ses")
    client.verify_email_identity(EmailAddress="shop@localhost")
    return client


def test_the_ses_backend_delivers_a_queued_email(ses, moto_url):
    email = enqueue(key="order_confirmation:ses")
    assert run_due_tasks() == 1
    email.refresh_from_db()
    assert (email.status, email.attempts, email.last_error) == ("sent", 1, "")
    # What moto's SES received (its state over HTTP): this email, once.
    state = requests.get(f"{moto_url}/moto-api/data.json", timeout=10).json()
    raw = [m["raw_data"] for m in state["ses"]["RawMessage"]]
    mine = [m for m in raw if message_id(email) in m]
    assert len(mine) == 1 and "To: ann@example.com" in mine[0] and "Thanks!" in mine[0]


def a_worker_died(*, claimed_the_email: bool) -> Email:
    """A queued email whose task a worker took a while ago, then died: before or after it
    claimed the email."""
    email = enqueue()
    long_ago = timezone.now() - timedelta(minutes=5)
    DBTaskResult.objects.update(status="RUNNING", started_at=long_ago)
    if claimed_the_email:
        Email.objects.filter(pk=email.pk).update(claimed_until=long_ago, attempts=1)
    return email


@pytest.mark.parametrize("claimed_the_email", [False, True])
def test_an_email_abandoned_by_a_dead_worker_is_queued_again_once(claimed_the_email):
    email = a_worker_died(claimed_the_email=claimed_the_email)
    assert emails_reclaim_abandoned() == 1
    assert emails_reclaim_abandoned() == 0
    assert DBTaskResult.objects.filter(status="FAILED").count() == 1  # no longer "running"
    assert len(outbox()) == 1
    email.refresh_from_db()
    assert (email.status, email.attempts) == ("sent", 1 + claimed_the_email)
    assert emails_reclaim_abandoned() == 0


def test_a_backlog_and_a_live_worker_are_left_alone():
    backlog = [enqueue(key=f"backlog:{n}") for n in range(3)]
    Email.objects.update(created_at=timezone.now() - timedelta(hours=1))
    DBTaskResult.objects.filter(args_kwargs__kwargs__email_id=backlog[0].pk).update(
        status="RUNNING",
        started_at=timezone.now(),  # a worker on it right now
    )
    assert emails_reclaim_abandoned() == 0
    assert DBTaskResult.objects.count() == 3


def test_a_retry_is_reclaimed_for_its_own_time():
    email = a_worker_died(claimed_the_email=False)
    later = timezone.now() + timedelta(minutes=2)
    Email.objects.filter(pk=email.pk).update(next_attempt_at=later)
    assert emails_reclaim_abandoned() == 1
    assert DBTaskResult.objects.get(status="READY").run_after == later
    assert emails_reclaim_abandoned() == 0


def test_a_claimed_email_is_not_sent_by_a_second_worker():
    email = enqueue()
    Email.objects.filter(pk=email.pk).update(claimed_until=timezone.now() + timedelta(minutes=1))
    assert email_deliver(email_id=email.pk) == "skipped"
    assert emails_reclaim_abandoned() == 0


@pytest.mark.parametrize(
    ("error", "transient"),
    [
        (ConnectionRefusedError(111, "Connection refused"), True),
        (TimeoutError("timed out"), True),
        (smtplib.SMTPServerDisconnected("gone"), True),
        (smtplib.SMTPResponseException(421, b"try later"), True),
        (smtplib.SMTPDataError(554, b"rejected"), False),
        (smtplib.SMTPRecipientsRefused({"a@example.com": (550, b"no such user")}), False),
        (smtplib.SMTPRecipientsRefused({"a@example.com": (452, b"mailbox full")}), True),
        (EndpointConnectionError(endpoint_url="https://email.eu-west-1.amazonaws.com"), True),
        (ClientError({"Error": {"Code": "Throttling"}}, "SendRawEmail"), True),
        (ClientError({"Error": {"Code": "MessageRejected"}}, "SendRawEmail"), False),
        (UnicodeEncodeError("ascii", "é", 0, 1, "no"), False),
    ],
)
def test_which_failures_are_worth_retrying(error, transient):
    assert is_transient(error) is transient
