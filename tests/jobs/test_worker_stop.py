"""`manage.py run_worker` stops when it is told to, however its current task ends."""

import signal

import pytest

from deploy.servers import WorkerProcess
from tests.jobs.tasks import outlived_by_its_result
from tests.notifications.test_worker import wait_for
from tests.servers import test_database_url as database_url

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.servers]


def test_a_sigterm_during_a_task_that_ends_in_a_database_error_stops_the_worker(tmp_path):
    """The worker retries after a database error; a SIGTERM that came during the task
    must still stop it (it used to start its loop again and run until killed)."""
    log = tmp_path / "worker.log"
    worker = WorkerProcess(log).start({"DATABASE_URL": database_url(), "INSTANCE_ID": "w"})
    try:
        outlived_by_its_result.enqueue()
        wait_for(lambda: b"outlived_by_its_result state=RUNNING" in log.read_bytes(), 20, "run")
        worker.process.send_signal(signal.SIGTERM)
        assert worker.process.wait(timeout=15) == 0
    finally:
        worker.stop(signal.SIGKILL)
