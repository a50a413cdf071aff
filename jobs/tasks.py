"""The django-tasks task that runs one claimed period of a scheduled job."""

from django_tasks import task


@task()
def run_job(run_id: int) -> str:
    from jobs.services import job_run  # the services enqueue this task

    return job_run(run_id=run_id)
