"""DATABASE_REPLICA_URL turns read replicas on, and contradictory settings stop the process
at start with one line naming the variable (each case in a fresh interpreter)."""

import json
import subprocess
import sys

import pytest

from tests.webapp.test_settings import BASE_DIR, production_environment

SHOW = (
    "import json; from django.conf import settings as s; print(json.dumps({"
    "'replica': s.DATABASES.get('replica', {}).get('ENGINE'),"
    "'replica_host': s.DATABASES.get('replica', {}).get('HOST'),"
    "'mirror': s.DATABASES.get('replica', {}).get('TEST', {}).get('MIRROR'),"
    "'routers': s.DATABASE_ROUTERS, 'middleware': s.MIDDLEWARE,"
    "'max_lag': s.DATABASE_REPLICA_MAX_LAG}))"
)


def run(environment: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", SHOW], cwd=BASE_DIR, env=environment, capture_output=True, text=True
    )


def test_production_reads_from_the_replica_its_environment_names():
    result = run(production_environment())
    assert result.returncode == 0, result.stderr
    settings = json.loads(result.stdout)
    assert settings["replica"] == "webapp.replicas"
    assert settings["replica_host"].startswith("webshop-db-replica.")
    assert settings["mirror"] == "default"  # tests never create a database on it
    assert settings["routers"] == ["webapp.replicas.ReplicaRouter"]
    middleware = settings["middleware"]
    sessions = middleware.index("django.contrib.sessions.middleware.SessionMiddleware")
    assert middleware[sessions + 1] == "webapp.replicas.ReplicaMiddleware"
    assert settings["max_lag"] == 5.0


def test_without_a_replica_url_everything_stays_on_the_primary():
    environment = production_environment()
    environment["DATABASE_REPLICA_URL"] = ""  # what user data writes when there is none
    settings = json.loads(run(environment).stdout)
    assert settings["replica"] is None and settings["routers"] == []
    assert "webapp.replicas.ReplicaMiddleware" not in settings["middleware"]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"DATABASE_REPLICA_URL": "sqlite:///replica.sqlite3"}, "DATABASE_REPLICA_URL needs"),
        # With debug off a missing REDIS_URL stops the process first ("Set REDIS_URL").
        ({"REDIS_URL": "", "DJANGO_DEBUG": "true"}, "DATABASE_REPLICA_URL needs REDIS_URL"),
        ({"DATABASE_REPLICA_MAX_LAG": "0"}, "DATABASE_REPLICA_MAX_LAG must be"),
    ],
)
def test_contradictory_replica_settings_stop_the_process(changes, message):
    environment = {**production_environment(), **changes}
    result = run(environment)
    assert result.returncode != 0
    assert f"ImproperlyConfigured: {message}" in result.stderr.strip().splitlines()[-1]
