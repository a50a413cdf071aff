"""The production environment points every kind of state at a shared service.

Settings are read once per process, so each case loads them in a fresh interpreter with
the environment an instance gets (deploy/production.env.example).
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from dotenv import dotenv_values

BASE_DIR = Path(__file__).resolve().parent.parent.parent
PRODUCTION_ENV = BASE_DIR / "deploy" / "production.env.example"


def production_environment() -> dict[str, str]:
    return {
        "PATH": os.environ["PATH"],
        "DJANGO_SETTINGS_MODULE": "webapp.settings",
        **dotenv_values(PRODUCTION_ENV),
    }


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
        "'ssl_redirect': s.SECURE_SSL_REDIRECT, 'debug': s.DEBUG,"
        "'proxy_ssl_header': getattr(s, 'SECURE_PROXY_SSL_HEADER', None),"
        "'hsts_preload': s.SECURE_HSTS_PRELOAD,"
        "'cookie_names': [s.SESSION_COOKIE_NAME, s.CSRF_COOKIE_NAME],"
        "'csp': {k: list(v) if isinstance(v, list) else v"
        " for k, v in s.CONTENT_SECURITY_POLICY['DIRECTIVES'].items()}})"
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
    assert settings["proxy_ssl_header"] == ["HTTP_X_FORWARDED_PROTO", "https"]  # 2 proxies
    assert settings["hsts_preload"] is False  # opt-in only
    assert settings["cookie_names"] == ["__Host-sessionid", "__Host-csrftoken"]
    # Static files and media come through CloudFront on the shop's own domain; Stripe.js
    # from Stripe (tests/payments/test_settings.py).
    for directive in ("style-src", "img-src", "font-src"):
        assert settings["csp"][directive] == ["'self'", "https://shop.example.com"]
    assert settings["csp"]["script-src"][:2] == ["'self'", "https://shop.example.com"]


def test_plain_http_keeps_cookie_names_browsers_accept_without_tls():
    environment = {**production_environment(), "DJANGO_HTTPS": "false"}
    assert load_settings(environment)["cookie_names"] == ["sessionid", "csrftoken"]


def test_a_local_s3_server_is_the_asset_origin_in_the_policy():
    environment = {**production_environment(), "AWS_S3_ENDPOINT_URL": "http://127.0.0.1:9000/x"}
    del environment["AWS_S3_CUSTOM_DOMAIN"]
    assert load_settings(environment)["csp"]["img-src"] == ["'self'", "http://127.0.0.1:9000"]


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
    assert settings["sessions"] == "webapp.sessions"  # over the local-memory cache
    assert settings["storages"] == {
        "default": "django.core.files.storage.FileSystemStorage",
        "staticfiles": "whitenoise.storage.CompressedManifestStaticFilesStorage",
    }


def start(environment: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", "from django.conf import settings; settings.DEBUG"],
        cwd=BASE_DIR,
        env=environment,
        capture_output=True,
        text=True,
    )


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"DJANGO_SECRET_KEY": None}, "DJANGO_SECRET_KEY"),
        ({"DATABASE_URL": None}, "DATABASE_URL"),
        ({"REDIS_URL": None}, "REDIS_URL"),
        ({"AWS_STORAGE_BUCKET_NAME": None}, "AWS_STORAGE_BUCKET_NAME"),
        ({"DJANGO_HTTPS": "false", "DJANGO_HSTS_PRELOAD": "true"}, "DJANGO_HTTPS"),
        ({"DJANGO_PROXY_COUNT": "-1"}, "DJANGO_PROXY_COUNT"),
    ],
)
def test_production_refuses_to_start_on_missing_or_contradictory_settings(changes, named):
    environment = production_environment()
    for key, value in changes.items():
        if value is None:
            del environment[key]
        else:
            environment[key] = value
    result = start(environment)
    assert result.returncode != 0
    last_line = result.stderr.strip().splitlines()[-1]
    assert last_line.startswith("django.core.exceptions.ImproperlyConfigured: Set " + named)


def test_a_release_build_says_it_needs_no_database_or_redis():
    environment = {
        "PATH": os.environ["PATH"],
        "DJANGO_SETTINGS_MODULE": "webapp.settings",
        "DJANGO_BUILD_ONLY": "true",
    }
    assert start(environment).returncode == 0


def test_forwarded_headers_are_trusted_only_behind_proxies():
    environment = {**production_environment(), "DJANGO_PROXY_COUNT": "0"}
    assert load_settings(environment)["proxy_ssl_header"] is None


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
