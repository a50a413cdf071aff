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
def test_forwarded_proto_marks_the_request_secure(client):
    with override_settings(SECURE_SSL_REDIRECT=True):
        response = client.get("/", HTTP_X_FORWARDED_PROTO="https")
    assert response.status_code == 200


@pytest.mark.django_db
def test_unknown_host_is_400_page_not_traceback(client):
    from django.test import Client

    response = Client(raise_request_exception=False).get("/", HTTP_HOST="evil.example.com")
    assert response.status_code == 400
    assert b"Bad request" in response.content
