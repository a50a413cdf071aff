"""The production environment points every kind of state at a shared service.

Settings are read once per process, so each case loads them in a fresh interpreter with
the environment an instance gets (deploy/production.env.example).
"""

import json
import os
import subprocess
import sys
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent.parent
PRODUCTION_ENV = BASE_DIR / "deploy" / "production.env.example"


def production_environment() -> dict[str, str]:
    environment = {"PATH": os.environ["PATH"], "DJANGO_SETTINGS_MODULE": "webapp.settings"}
    for line in PRODUCTION_ENV.read_text().splitlines():
        if line and not line.startswith("#"):
            key, value = line.split("=", 1)
            environment[key] = value
    return environment


def load_settings(environment: dict[str, str]) -> dict:
    script = (
        "import json; from django.conf import settings as s; print(json.dumps({"
        "'engine': s.DATABASES['default']['ENGINE'],"
        "'conn_max_age': s.DATABASES['default']['CONN_MAX_AGE'],"
        "'health_checks': s.DATABASES['default']['CONN_HEALTH_CHECKS'],"
        "'sslmode': s.DATABASES['default'].get('OPTIONS', {}).get('sslmode'),"
        "'cache': s.CACHES['default']['BACKEND'],"
        "'cache_location': s.CACHES['default'].get('LOCATION', ''),"
        "'sessions': s.SESSION_ENGINE,"
        "'storages': {k: v['BACKEND'] for k, v in s.STORAGES.items()},"
        "'media_bucket': s.STORAGES['default'].get('OPTIONS', {}).get('bucket_name'),"
        "'static_domain': s.STORAGES['staticfiles'].get('OPTIONS', {}).get('custom_domain'),"
        "'secure_cookies': s.SESSION_COOKIE_SECURE and s.CSRF_COOKIE_SECURE,"
        "'ssl_redirect': s.SECURE_SSL_REDIRECT, 'debug': s.DEBUG})"
        ")"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=BASE_DIR,
        env=environment,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout)


def test_production_settings_keep_nothing_on_the_instance():
    settings = load_settings(production_environment())
    assert settings["engine"] == "django.db.backends.postgresql"
    assert settings["sslmode"] == "verify-full"
    assert settings["conn_max_age"] > 0 and settings["health_checks"]
    assert settings["cache"] == "django_redis.cache.RedisCache"
    assert settings["cache_location"].startswith("rediss://")
    assert settings["sessions"] == "webapp.sessions"
    assert settings["storages"] == {
        "default": "storages.backends.s3.S3Storage",
        "staticfiles": "storages.backends.s3.S3ManifestStaticStorage",
    }
    assert settings["media_bucket"] == "webshop-prod-media"
    assert settings["static_domain"] == "shop.example.com"
    assert settings["secure_cookies"] and settings["ssl_redirect"]
    assert settings["debug"] is False


def test_unset_environment_is_the_embedded_default():
    settings = load_settings(
        {
            "PATH": os.environ["PATH"],
            "DJANGO_SETTINGS_MODULE": "webapp.settings",
            "DJANGO_DEBUG": "true",
        }
    )
    assert settings["engine"] == "django.db.backends.sqlite3"
    assert settings["cache"] == "django.core.cache.backends.locmem.LocMemCache"
    assert settings["sessions"] == "django.contrib.sessions.backends.db"
    assert settings["storages"] == {
        "default": "django.core.files.storage.FileSystemStorage",
        "staticfiles": "whitenoise.storage.CompressedManifestStaticFilesStorage",
    }


def test_production_refuses_to_start_without_a_secret_key():
    environment = production_environment()
    del environment["DJANGO_SECRET_KEY"]
    result = subprocess.run(
        [sys.executable, "-c", "from django.conf import settings; settings.DEBUG"],
        cwd=BASE_DIR,
        env=environment,
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0
    assert "Set DJANGO_SECRET_KEY" in result.stderr


def test_deploy_checks_pass_with_the_production_environment():
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=BASE_DIR,
        env=production_environment(),
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout
