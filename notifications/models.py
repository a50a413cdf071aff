from django.db import models
from django.db.models import Q

# What the queue accepts (EmailRejected otherwise): SES refuses messages over 10 MB, and
# nothing the shop sends comes close to these.
MAX_SUBJECT_LENGTH = 200
MAX_BODY_BYTES = 256 * 1024


class Email(models.Model):
    """One email the shop sends, written in the same transaction as the change that causes
    it and delivered by a worker (notifications/services.py says how).

    `key` names the event ("order_confirmation:42"): one event, one row, however often the
    code that causes it runs. The body is rendered when the row is written, so delivery
    needs neither the request nor the templates.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENT = "sent", "Sent"
        DEAD = "dead", "Dead letter"

    key = models.CharField(max_length=200, unique=True)
    kind = models.CharField(max_length=40, help_text="Which email this is, e.g. confirm_sign_up.")
    to = models.EmailField()
    subject = models.CharField(max_length=MAX_SUBJECT_LENGTH)
    body = models.TextField()
    status = models.CharField(max_length=10, choices=Status, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    # Set while a worker sends it; a claim that expires belonged to a worker that died.
    claimed_until = models.DateTimeField(null=True, blank=True)
    # The django-tasks task due to deliver it next: a task its worker never finished means
    # the email needs another (notifications.services.emails_reclaim_abandoned).
    task_id = models.UUIDField(null=True, blank=True, editable=False)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            # The queue: its depth, its oldest message, abandoned claims.
            models.Index(
                fields=["created_at"], name="email_pending", condition=Q(status="pending")
            ),
            models.Index(fields=["status", "-created_at"], name="email_status"),
        ]

    def __str__(self):
        return f"{self.kind} to {self.to}"
