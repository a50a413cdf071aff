from pathlib import Path

import pytest
from django.test import override_settings


def test_every_response_names_the_instance(client):
    with override_settings(INSTANCE_ID="i-0abc123"):
        assert client.get("/healthz")["X-Served-By"] == "i-0abc123"


def test_request_id_comes_from_the_alb_trace_header(client):
    trace = "Root=1-67891233-abcdef012345678912345678"
    response = client.get("/healthz", HTTP_X_AMZN_TRACE_ID=trace)
    assert response["X-Request-Id"] == trace


def test_request_id_is_generated_without_the_alb(client):
    first = client.get("/healthz")["X-Request-Id"]
    second = client.get("/healthz")["X-Request-Id"]
    assert len(first) == 32
    assert first != second


@pytest.mark.django_db
def test_security_headers_on_pages(client):
    response = client.get("/")
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"


@pytest.mark.django_db
def test_forwarded_proto_marks_the_request_secure_behind_a_proxy(client):
    proxied = {"SECURE_PROXY_SSL_HEADER": ("HTTP_X_FORWARDED_PROTO", "https")}
    with override_settings(SECURE_SSL_REDIRECT=True, **proxied):
        response = client.get("/", HTTP_X_FORWARDED_PROTO="https")
    assert response.status_code == 200


@pytest.mark.django_db
def test_forwarded_proto_is_ignored_without_a_proxy(client):
    with override_settings(SECURE_SSL_REDIRECT=True):
        response = client.get("/", HTTP_X_FORWARDED_PROTO="https")
    assert response.status_code == 301


@pytest.mark.django_db
def test_unknown_host_is_400_page_not_traceback(client):
    from django.test import Client

    response = Client(raise_request_exception=False).get("/", HTTP_HOST="evil.example.com")
    assert response.status_code == 400
    assert b"Bad request" in response.content


@pytest.mark.django_db
def test_media_on_local_disk_is_not_served_with_debug_off(client, settings):
    media = Path(settings.MEDIA_ROOT)
    media.mkdir(parents=True, exist_ok=True)
    (media / "note.txt").write_text("instance-local file")
    assert client.get("/media/note.txt").status_code == 404
