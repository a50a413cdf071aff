"""The django-tasks task that delivers queued email (run by `manage.py run_worker`)."""

from django_tasks import task


@task()
def deliver_email(email_id: int) -> str:
    """One delivery attempt; notifications.services owns the rules."""
    from notifications.services import email_deliver  # the services enqueue this task

    return email_deliver(email_id=email_id)
