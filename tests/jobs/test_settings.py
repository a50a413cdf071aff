"""The worker tier's settings refuse to start on a value that makes no sense, naming the
variable (each case loads the settings in a fresh interpreter)."""

import os
import subprocess
import sys

import pytest

from deploy.servers.worker import BASE_DIR


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("JOB_PERIODS", "purge_carts", "JOB_PERIODS: 'purge_carts' is not job=seconds."),
        ("JOB_PERIODS", "purge_carts=-5", "JOB_PERIODS: 'purge_carts=-5' is not job=seconds."),
        ("MAIL_MAX_ATTEMPTS", "0", "MAIL_MAX_ATTEMPTS must be at least 1, not 0."),
        ("DJANGO_EMAIL_TIMEOUT", "0", "DJANGO_EMAIL_TIMEOUT must be at least 1, not 0."),
        (
            "WEBSHOP_ENVIRONMENT",
            "prod",
            "WEBSHOP_ENVIRONMENT needs AWS_DEFAULT_REGION: the region its metrics go to.",
        ),
    ],
)
def test_a_nonsensical_value_stops_the_process_with_one_line(variable, value, message):
    environment = {
        "PATH": os.environ["PATH"],
        "DJANGO_SETTINGS_MODULE": "webapp.settings",
        "DJANGO_SECRET_KEY": "tests-only-secret-key-that-is-long-enough-for-django-checks",
        "DATABASE_URL": "postgres://webshop@127.0.0.1:1/webshop",  # never connected to
        "REDIS_URL": "redis://127.0.0.1:1/0",
        variable: value,
    }
    result = subprocess.run(
        [sys.executable, "-c", "from django.conf import settings; settings.INSTALLED_APPS"],
        cwd=BASE_DIR,
        env=environment,
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0
    assert result.stderr.strip().splitlines()[-1] == (
        f"django.core.exceptions.ImproperlyConfigured: {message}"
    )
