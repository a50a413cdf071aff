"""The scheduled jobs and how often each runs (JOB_PERIODS overrides the periods)."""

from collections.abc import Callable
from dataclasses import dataclass
from importlib import import_module

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

MINUTE = 60
HOUR = 60 * MINUTE
DAY = 24 * HOUR


@dataclass(frozen=True)
class Job:
    name: str
    every: int  # seconds; periods start at multiples of it since the epoch (UTC midnight)
    run: Callable[[], str]  # does the work, returns a line for the run's outcome


def _purge_carts() -> str:
    from cart.services import carts_purge

    return f"purged {carts_purge(days=30)} cart(s) untouched for 30 days"


def _clear_sessions() -> str:
    # What `manage.py clearsessions` does: cookie-less visitors leave a session per page.
    import_module(settings.SESSION_ENGINE).SessionStore.clear_expired()
    return "expired sessions deleted"


def _prune_history() -> str:
    from jobs.services import history_prune

    return history_prune()


def _purge_drafts() -> str:
    from accounts.models import DRAFT_TTL_DAYS
    from accounts.services import drafts_purge

    return f"purged {drafts_purge()} form draft(s) untouched for {DRAFT_TTL_DAYS} days"


def _payments_sweep() -> str:
    from payments.services import payments_sweep

    return payments_sweep()


def _refresh_recommendations() -> str:
    from catalog.services import recommendations_refresh

    return recommendations_refresh()


def _publish_queue_metrics() -> str:
    from notifications.services import queue_metrics_publish

    return queue_metrics_publish(environment=settings.WEBSHOP_ENVIRONMENT)


JOBS = {
    job.name: job
    for job in [
        Job("purge_carts", DAY, _purge_carts),
        Job("clear_sessions", DAY, _clear_sessions),
        Job("prune_history", DAY, _prune_history),
        Job("purge_drafts", DAY, _purge_drafts),
        # Hourly: new orders and views show in the recommendations within the hour; a run
        # takes under a second for 5,000 orders (README) and starts a new cache generation.
        Job("refresh_recommendations", HOUR, _refresh_recommendations),
        # Every minute: an unpaid order gives its stock back within a minute of its timeout.
        Job("payments_sweep", MINUTE, _payments_sweep),
        # Every minute, the dashboard's resolution and the alarms' period.
        Job("publish_queue_metrics", MINUTE, _publish_queue_metrics),
    ]
}
# Jobs that call AWS, scheduled only where WEBSHOP_ENVIRONMENT names the environment.
_AWS_JOBS = {"publish_queue_metrics"}


def jobs() -> list[Job]:
    """Every job to schedule here, with its period, JOB_PERIODS applied; refuses unknown
    names. Without WEBSHOP_ENVIRONMENT, the jobs that call AWS are left out."""
    periods = settings.JOB_PERIODS
    unknown = sorted(set(periods) - set(JOBS))
    if unknown:
        raise ImproperlyConfigured(
            f"JOB_PERIODS names unknown job(s) {', '.join(unknown)}; known: {', '.join(JOBS)}."
        )
    if any(seconds < 1 for seconds in periods.values()):
        raise ImproperlyConfigured("JOB_PERIODS: every period must be at least 1 second.")
    skipped = set() if settings.WEBSHOP_ENVIRONMENT else _AWS_JOBS
    return [
        Job(job.name, periods.get(job.name, job.every), job.run)
        for job in JOBS.values()
        if job.name not in skipped
    ]
