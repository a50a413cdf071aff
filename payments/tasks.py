"""The django-tasks task that applies one recorded Stripe event (run by the worker tier)."""

from django_tasks import task


@task()
def process_event(event_id: str) -> str:
    from payments.services import event_process  # the services enqueue this task

    return event_process(event_id=event_id)
