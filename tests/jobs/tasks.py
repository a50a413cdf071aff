"""Tasks that only the tests enqueue (the worker process imports them by their path)."""

import time

from django_tasks import task
from django_tasks_db.models import DBTaskResult


@task(takes_context=True)
def outlived_by_its_result(context) -> None:
    """A task whose result row goes while it runs (an earlier test's clean-up did this):
    recording its outcome then fails with a DatabaseError."""
    DBTaskResult.objects.filter(pk=context.task_result.id).delete()
    time.sleep(1)
