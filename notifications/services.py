"""Writes for outgoing email: every email the shop sends goes through `email_enqueue`.

The rule: an email is written to the database in the same transaction as the change that
causes it (a sign-up, an order), together with the django-tasks task that delivers it, so
either both commit or neither does. A worker sends it later; the request never waits for
the mail server, and a mail outage fails no request and loses no email.

Delivery guarantee: every queued email is sent at least once; it is sent twice only when a
worker dies (or loses the database) after the mail server accepted the message and before
the worker recorded it as sent, and then the second copy carries the same Message-ID.

- One event, one row: `key` is unique, so an event queued twice (a retried request, two
  instances racing) still makes one email.
- One sender at a time: a worker claims the row with one conditional UPDATE (pending, due,
  and not claimed by a live worker) before it sends; a claim lasts a few mail timeouts.
- No email waits on a dead worker: the row names the task due to deliver it, and when that
  task's worker died (the task is still "running" after a claim's time, or failed), or the
  claim expired, `emails_reclaim_abandoned` (every instance's scheduler, every second)
  queues the email again.
- Transient failures (connection refused, timeouts, SMTP 4xx, SES throttling) are retried
  with exponential backoff (1 s doubling to 10 min, a little jitter) up to
  MAIL_MAX_ATTEMPTS; a permanent one (SMTP 5xx, SES MessageRejected, a bug) and the last
  transient one make the email a dead letter, which the admin can retry.
"""

import hashlib
import logging
import random
import smtplib
from datetime import datetime, timedelta
from email.utils import parseaddr

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from notifications.models import MAX_BODY_BYTES, MAX_SUBJECT_LENGTH, Email
from notifications.selectors import email_queue_stats
from notifications.tasks import deliver_email

logger = logging.getLogger(__name__)

RETRY_FIRST_DELAY = 1.0  # seconds; doubles with every failed attempt
RETRY_MAX_DELAY = 600.0
# SES errors worth trying again; any other SES error is about the message itself.
_SES_TRANSIENT = {"Throttling", "ThrottlingException", "ServiceUnavailable", "InternalFailure"}
# The queue's health in CloudWatch: the dashboard and alarms (cloudformation/stacks/
# monitoring.yaml) read these names. The worker runs one task at a time, so a hung call
# must not hold it long: two attempts of at most 5 + 5 s; a missed minute is harmless.
METRICS_NAMESPACE = "Webshop"
_CLOUDWATCH_CONFIG = Config(
    connect_timeout=5, read_timeout=5, retries={"total_max_attempts": 2, "mode": "standard"}
)


class EmailRejected(ValueError):
    """An email the queue refuses at enqueue, never to be retried; the message says why."""


def event_key(kind: str, event: str) -> str:
    """A key for an event described by text that must not be shown (a link with a token):
    the admin shows keys."""
    return f"{kind}:{hashlib.sha256(event.encode()).hexdigest()[:40]}"


def email_enqueue(
    *, key: str, kind: str, to: str, subject: str, body: str, erase_when_sent: bool = False
) -> Email:
    """Queue an email for the event `key`, in the caller's transaction; returns its row.

    Raises EmailRejected for an address or a message no mail server would take. Queuing the
    same key again returns the first row and queues nothing. With `erase_when_sent` the
    row keeps neither the address nor the text once the email is sent.
    """
    _validate(key=key, kind=kind, to=to, subject=subject, body=body)
    try:
        # A savepoint inside the caller's transaction: a key queued before rolls back to it
        # (no SELECT first: nearly every event is new).
        with transaction.atomic():
            email = Email.objects.create(
                key=key,
                kind=kind,
                to=to,
                subject=subject,
                body=body,
                erase_when_sent=erase_when_sent,
                next_attempt_at=timezone.now(),
            )
            _queue_delivery(email.pk)
    except IntegrityError:  # the key is unique: this event's email is queued already
        return Email.objects.get(key=key)
    return email


def _queue_delivery(email_id: int, run_after: datetime | None = None) -> None:
    """Enqueue the email's next delivery and note its task on the row (in the caller's
    transaction)."""
    task = deliver_email.using(run_after=run_after) if run_after else deliver_email
    result = task.enqueue(email_id=email_id)
    Email.objects.filter(pk=email_id).update(task_id=result.id)


def _validate(*, key: str, kind: str, to: str, subject: str, body: str) -> None:
    try:
        validate_email(to)
    except ValidationError:
        raise EmailRejected(f"{to!r} is not an email address.") from None
    if not key or len(key) > Email._meta.get_field("key").max_length:
        raise EmailRejected(f"The event key must be 1 to 200 characters, not {len(key)}.")
    if not kind or len(kind) > Email._meta.get_field("kind").max_length:
        raise EmailRejected(f"The kind must be 1 to 40 characters, not {len(kind)}.")
    if not subject or len(subject) > MAX_SUBJECT_LENGTH or "\n" in subject or "\r" in subject:
        raise EmailRejected(
            f"The subject must be one line of 1 to {MAX_SUBJECT_LENGTH} characters."
        )
    size = len(body.encode())
    if size > MAX_BODY_BYTES:
        raise EmailRejected(f"The body is {size} bytes; the limit is {MAX_BODY_BYTES}.")


def _claim_lease() -> timedelta:
    """How long a worker may take to send one email: the mail timeout covers the connect
    and each SMTP exchange, so three of them is more than a live worker ever needs."""
    return timedelta(seconds=3 * settings.EMAIL_TIMEOUT)


def message_id(email: Email) -> str:
    """The same Message-ID for every copy of one event's email."""
    domain = parseaddr(settings.DEFAULT_FROM_EMAIL)[1].rpartition("@")[2] or "localhost"
    return f"<{hashlib.sha256(email.key.encode()).hexdigest()[:32]}@{domain}>"


def email_deliver(*, email_id: int) -> str:
    """Send one queued email if it is due and nobody else is sending it; returns what
    happened: sent, retry, dead, or skipped (sent, dead, claimed or not due)."""
    now = timezone.now()
    claimed = (
        Email.objects.filter(pk=email_id, status=Email.Status.PENDING, next_attempt_at__lte=now)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .update(claimed_until=now + _claim_lease(), attempts=F("attempts") + 1)
    )
    if not claimed:
        return "skipped"
    email = Email.objects.get(pk=email_id)
    message = EmailMessage(
        email.subject,
        email.body,
        None,
        [email.to],
        headers={"Message-ID": message_id(email), "X-Shop-Kind": email.kind},
    )
    try:
        message.send()
    except Exception as error:  # every failure is recorded on the row
        return _record_failure(email, error)
    erased = {"to": "", "subject": "", "body": ""} if email.erase_when_sent else {}
    Email.objects.filter(pk=email_id).update(
        status=Email.Status.SENT,
        sent_at=timezone.now(),
        claimed_until=None,
        last_error="",
        **erased,
    )
    return "sent"


def emails_forget(*, address: str) -> int:
    """Delete every email to this address or naming it, whatever its state (an account is
    closing: sent ones hold its name and links; unsent ones must not go out after it is
    gone); returns how many. A delivery task left for one of them finds nothing to send.
    Reads the bodies of the whole table, which the prune job keeps to 30 days."""
    deleted, _ = Email.objects.filter(Q(to=address) | Q(body__icontains=address)).delete()
    return deleted


def _record_failure(email: Email, error: Exception) -> str:
    detail = f"attempt {email.attempts}: {type(error).__name__}: {error}"[:2000]
    with transaction.atomic():
        if not is_transient(error) or email.attempts >= settings.MAIL_MAX_ATTEMPTS:
            Email.objects.filter(pk=email.pk).update(
                status=Email.Status.DEAD, claimed_until=None, last_error=detail
            )
            logger.error("email %s to %s is a dead letter: %s", email.pk, email.to, detail)
            return "dead"
        delay = min(RETRY_FIRST_DELAY * 2 ** (email.attempts - 1), RETRY_MAX_DELAY)
        due = timezone.now() + timedelta(seconds=delay * random.uniform(0.8, 1.0))  # noqa: S311
        Email.objects.filter(pk=email.pk).update(
            next_attempt_at=due, claimed_until=None, last_error=detail
        )
        _queue_delivery(email.pk, run_after=due)
    logger.warning("email %s to %s: %s; next attempt at %s", email.pk, email.to, detail, due)
    return "retry"


def is_transient(error: Exception) -> bool:
    """Whether trying again later may succeed (the server or the network), rather than the
    message being refused for what it is."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return any(code < 500 for code, _ in error.recipients.values())
    if isinstance(error, smtplib.SMTPResponseException):
        return error.smtp_code < 500
    if isinstance(error, ClientError):
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        return error.response.get("Error", {}).get("Code") in _SES_TRANSIENT or status >= 500
    # Connection refused or reset, timeouts, the server hanging up (SMTPServerDisconnected
    # is an OSError too), and botocore's connection errors.
    return isinstance(error, OSError | BotoCoreError)


def email_retry(*, email_id: int) -> bool:
    """Give a dead letter a fresh set of attempts, now (the admin's retry action);
    False if the email is not a dead letter."""
    with transaction.atomic():
        revived = Email.objects.filter(pk=email_id, status=Email.Status.DEAD).update(
            status=Email.Status.PENDING, attempts=0, next_attempt_at=timezone.now()
        )
        if revived:
            _queue_delivery(email_id)
    return bool(revived)


def emails_reclaim_abandoned() -> int:
    """Queue again the pending emails whose delivery task will never finish: its worker
    died (the task still "running" after a claim's time) or it failed; returns how many.
    Safe on every instance at once: each row is reclaimed by one of them."""
    now = timezone.now()
    alive_since = now - _claim_lease()
    live_task = DBTaskResult.objects.filter(pk=OuterRef("task_id")).filter(
        Q(status=TaskResultStatus.READY)
        | Q(status=TaskResultStatus.RUNNING, started_at__gte=alive_since)
    )
    with transaction.atomic():
        abandoned = list(
            Email.objects.filter(status=Email.Status.PENDING)
            .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
            .exclude(Exists(live_task))
            .select_for_update(skip_locked=True)
            .values_list("pk", "task_id", "next_attempt_at")
        )
        DBTaskResult.objects.filter(
            pk__in=[task_id for _, task_id, _ in abandoned], status=TaskResultStatus.RUNNING
        ).update(
            status=TaskResultStatus.FAILED,
            finished_at=now,
            exception_class_path="notifications.WorkerLost",
            traceback="The worker running this task stopped before it finished.",
        )
        Email.objects.filter(pk__in=[pk for pk, _, _ in abandoned]).update(claimed_until=None)
        for email_id, _, due in abandoned:
            _queue_delivery(email_id, run_after=due if due > now else None)
    if abandoned:
        ids = [pk for pk, _, _ in abandoned]
        logger.warning("requeued %d email(s) abandoned by a worker: %s", len(ids), ids)
    return len(abandoned)


def emails_prune(*, days: int) -> int:
    """Delete emails sent more than `days` ago (their bodies hold sign-in links); returns
    how many. Dead letters stay until someone retries them."""
    cutoff = timezone.now() - timedelta(days=days)
    deleted, _ = Email.objects.filter(status=Email.Status.SENT, sent_at__lt=cutoff).delete()
    return deleted


def queue_metrics_publish(*, environment: str) -> str:
    """Publish the queue's depth, its oldest pending email's age and the dead letters to
    CloudWatch for `environment` (the scheduled job, once a minute fleet-wide); returns
    what it sent. The region and credentials are boto3's (AWS_DEFAULT_REGION, the role)."""
    stats = email_queue_stats()
    oldest = stats.oldest_pending_seconds or 0.0  # 0 rather than no data: workers are alive
    dimensions = [{"Name": "Environment", "Value": environment}]
    boto3.client("cloudwatch", config=_CLOUDWATCH_CONFIG).put_metric_data(
        Namespace=METRICS_NAMESPACE,
        MetricData=[
            {"MetricName": name, "Dimensions": dimensions, "Value": value, "Unit": unit}
            for name, value, unit in [
                ("QueueDepth", stats.pending, "Count"),
                ("OldestPendingSeconds", oldest, "Seconds"),
                ("DeadLetters", stats.dead, "Count"),
            ]
        ],
    )
    return f"published to CloudWatch ({environment}): {stats}"
