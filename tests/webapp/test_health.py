"""Health endpoints and the friendly 503 while the database is unreachable.

"Unreachable" is real: the connection is pointed at a port nothing listens on.
"""

import pytest
from django.conf import settings
from django.db import connection
from django.test import override_settings

from deploy.servers import free_port
from tests.factories import make_product


@pytest.fixture
def database_down(transactional_db):
    """Point the app's database connection at a closed port, then restore it."""
    original_port = connection.settings_dict["PORT"]
    connection.close()
    connection.settings_dict["PORT"] = str(free_port())
    yield
    connection.close()
    connection.settings_dict["PORT"] = original_port


@pytest.fixture
def redis_down():
    closed = f"redis://127.0.0.1:{free_port()}/0"
    caches = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": closed,
            "OPTIONS": {"IGNORE_EXCEPTIONS": True, "SOCKET_CONNECT_TIMEOUT": 1},
        },
        "local": settings.CACHES["local"],
    }
    with override_settings(CACHES=caches):
        yield


def test_healthz_answers_any_host_without_redirect(client):
    with override_settings(SECURE_SSL_REDIRECT=True, ALLOWED_HOSTS=["shop.example.com"]):
        response = client.get("/healthz", HTTP_HOST="10.0.3.17:8000")
    assert response.status_code == 200
    assert response.content == b"ok\n"


@pytest.mark.django_db
def test_readyz_is_200_when_database_and_redis_answer(client):
    with override_settings(SECURE_SSL_REDIRECT=True, ALLOWED_HOSTS=["shop.example.com"]):
        response = client.get("/readyz", HTTP_HOST="10.0.3.17:8000")
    assert response.status_code == 200
    assert response.content == b"ready\n"


def test_readyz_names_the_database_when_it_is_down(client, database_down):
    response = client.get("/readyz")
    assert response.status_code == 503
    assert b"database: OperationalError" in response.content
    assert b"cache" not in response.content


@pytest.mark.django_db
def test_readyz_names_the_cache_when_redis_is_down(client, redis_down):
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.content.startswith(b"cache: ConnectionError")


def test_healthz_stays_200_when_the_database_is_down(client, database_down):
    assert client.get("/healthz").status_code == 200


@pytest.mark.parametrize("path", ["/", "/products/anything/", "/category/kitchen/"])
def test_pages_answer_friendly_503_when_the_database_is_down(path, database_down):
    from django.test import Client

    client = Client(raise_request_exception=False)
    response = client.get(path)
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert b"Back in a moment" in response.content
    assert b"Traceback" not in response.content
    assert b'href="/accounts/login/"' in response.content  # the header still links out


@pytest.mark.django_db
def test_pages_still_work_when_redis_is_down(client, redis_down):
    make_product(name="Sturdy Trowel")
    response = client.get("/")
    assert response.status_code == 200
    assert b"Sturdy Trowel" in response.content


def test_https_redirect_applies_to_pages_but_not_health(client):
    with override_settings(SECURE_SSL_REDIRECT=True):
        assert client.get("/healthz").status_code == 200
        page = client.get("/")
        assert page.status_code == 301
        assert page["Location"] == "https://testserver/"
        forwarded = client.get("/healthz", HTTP_X_FORWARDED_PROTO="https")
        assert forwarded.status_code == 200
