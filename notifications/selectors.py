"""Reads for outgoing email: what the queue holds."""

from dataclasses import dataclass

from django.db.models import Count, Min, Q
from django.utils import timezone

from notifications.models import Email


@dataclass(frozen=True)
class QueueStats:
    pending: int
    oldest_pending_seconds: float | None  # None: nothing pending
    dead: int

    def __str__(self):
        age = "-" if self.oldest_pending_seconds is None else f"{self.oldest_pending_seconds:.0f} s"
        return f"mail queue: {self.pending} pending (oldest {age}), {self.dead} dead letter(s)"


def email_queue_stats() -> QueueStats:
    """Depth of the queue, the age of its oldest message, and the dead letters: one query."""
    row = Email.objects.filter(status__in=[Email.Status.PENDING, Email.Status.DEAD]).aggregate(
        pending=Count("pk", filter=Q(status=Email.Status.PENDING)),
        dead=Count("pk", filter=Q(status=Email.Status.DEAD)),
        oldest=Min("created_at", filter=Q(status=Email.Status.PENDING)),
    )
    oldest = row["oldest"]
    age = None if oldest is None else (timezone.now() - oldest).total_seconds()
    return QueueStats(pending=row["pending"], oldest_pending_seconds=age, dead=row["dead"])
