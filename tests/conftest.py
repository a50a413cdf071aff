"""Test setup: throwaway PostgreSQL and Redis on loopback, started before Django loads.

The suite never runs against SQLite or a local-memory cache, and never skips: if a server
cannot be started, pytest stops with a one-line instruction.
"""

import os
import uuid
from contextlib import ExitStack
from pathlib import Path

import pytest

from deploy.servers import ServiceUnavailable, free_port, throwaway_services

_running = ExitStack()


def pytest_configure(config):
    if config.option.help or config.option.version:
        return
    try:
        workdir, postgres, redis = _running.enter_context(throwaway_services("webshop-tests-"))
    except ServiceUnavailable as error:
        pytest.exit(f"Cannot start the test services: {error}", returncode=3)
    os.environ.update(
        DJANGO_SETTINGS_MODULE="webapp.settings",
        DJANGO_SECRET_KEY="tests-only-secret-key-that-is-long-enough-for-django-checks",
        DJANGO_HTTPS="false",
        DATABASE_URL=postgres.url(),
        REDIS_URL=redis.url(),
        DJANGO_STATIC_ROOT=str(workdir / "static"),
        DJANGO_MEDIA_ROOT=str(workdir / "media"),
        WEBSHOP_TEST_WORKDIR=str(workdir),
        # Playwright's sync API runs an event loop in the test thread; the ORM calls the
        # tests make there are still synchronous.
        DJANGO_ALLOW_ASYNC_UNSAFE="true",
    )
    import django
    from django.core.management import call_command

    django.setup()
    from django.conf import settings

    # Hashing is slow by design; tests in this process don't need it to be. Users that a
    # gunicorn server must authenticate are hashed with its hasher (tests.servers.server_user).
    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.MD5PasswordHasher",
        "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    ]
    call_command("collectstatic", interactive=False, verbosity=0)


def pytest_collection_modifyitems(items):
    """Browser and stack tests start processes too, and so do those on the SMTP server:
    `make test-fast` leaves them all out."""
    for item in items:
        if (
            item.get_closest_marker("browser")
            or item.get_closest_marker("stack")
            or {"mail_server", "smtp"} & set(item.fixturenames)
        ):
            item.add_marker(pytest.mark.servers)


def pytest_unconfigure(config):
    _running.close()


@pytest.fixture(autouse=True)
def _empty_cache():
    """Each test starts with an empty Redis, as after a cache flush."""
    from django.core.cache import caches

    caches["default"].clear()
    caches["local"].clear()
    yield


@pytest.fixture
def app_server(transactional_db):
    """A gunicorn server (two workers) on the test database; data must be committed."""
    from tests.servers import start_app_server

    server = start_app_server()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def mail_server():
    """A real SMTP server (aiosmtpd) on loopback, keeping what it accepts as files."""
    from deploy.servers import MailServer

    workdir = Path(os.environ["WEBSHOP_TEST_WORKDIR"]) / "smtp"
    server = MailServer(workdir, free_port(), workdir / "mail").start()
    yield server
    server.stop()


@pytest.fixture
def smtp(settings, mail_server):
    """Django's SMTP backend pointed at the suite's SMTP server; no refused recipients."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", mail_server.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    mail_server.suppress()
    yield mail_server
    mail_server.suppress()


@pytest.fixture(scope="session")
def browser_type_launch_args():
    """Debian's chromium, headless, without the background traffic this network refuses."""
    from deploy.servers.browser import CHROMIUM_LAUNCH

    return dict(CHROMIUM_LAUNCH)


@pytest.fixture(scope="session")
def moto_url():
    """A local AWS API server (moto) over real HTTP: S3 for the storage tests,
    CloudFormation and S3 for the deploy tool's."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture(scope="module")  # per module: the deploy tool's tests reset the moto server
def s3_environment(moto_url, tmp_path_factory):
    """Two buckets on the moto server, as on AWS, with the release's static files published
    to one: the environment a gunicorn server needs to keep static files and media on S3."""
    import boto3

    from deploy.release.static import collect_static, publish_static

    suffix = uuid.uuid4().hex[:8]
    environment = {
        "AWS_STORAGE_BUCKET_NAME": f"static-{suffix}",
        "AWS_MEDIA_BUCKET_NAME": f"media-{suffix}",
        "AWS_S3_ENDPOINT_URL": moto_url,
        "AWS_S3_REGION_NAME": "us-east-1",
        "AWS_DEFAULT_ACL": "public-read",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }
    s3 = boto3.client(
        "s3",
        endpoint_url=moto_url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    s3.create_bucket(Bucket=environment["AWS_STORAGE_BUCKET_NAME"])
    s3.create_bucket(Bucket=environment["AWS_MEDIA_BUCKET_NAME"])
    static_root = tmp_path_factory.mktemp("release") / "static"
    collect_static(static_root)
    publish_static(
        static_root, s3=s3, bucket=environment["AWS_STORAGE_BUCKET_NAME"], acl="public-read"
    )
    return environment, s3


WEBHOOK_SECRET = "whsec_tests"


@pytest.fixture(scope="session")
def stripe_server():
    """A fake Stripe (localstripe) over real HTTP on loopback, for the whole session."""
    from deploy.servers.stripe import StripeServer

    server = StripeServer(Path(os.environ["WEBSHOP_TEST_WORKDIR"]) / "stripe", free_port())
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def stripe_environment(stripe_server) -> dict[str, str]:
    """The variables that turn Stripe on, pointed at the fake: for gunicorn servers."""
    return {
        "STRIPE_SECRET_KEY": "sk_test_shop",
        "STRIPE_PUBLISHABLE_KEY": "pk_test_shop",
        "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "STRIPE_API_BASE": stripe_server.url,
    }


@pytest.fixture
def stripe_on(settings, stripe_environment):
    """Stripe on in this process, against the fake: orders are then paid by card."""
    from payments.services import _client

    settings.STRIPE_ENABLED = True
    settings.STRIPE_SECRET_KEY = stripe_environment["STRIPE_SECRET_KEY"]
    settings.STRIPE_PUBLISHABLE_KEY = stripe_environment["STRIPE_PUBLISHABLE_KEY"]
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.STRIPE_API_BASE = stripe_environment["STRIPE_API_BASE"]
    settings.STRIPE_JS_URL = f"{settings.STRIPE_API_BASE}/js.stripe.com/v3/"
    _client.cache_clear()
    yield settings
    _client.cache_clear()
