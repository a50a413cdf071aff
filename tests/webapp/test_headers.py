from pathlib import Path

import pytest
from django.test import override_settings


def test_every_response_names_the_instance(client):
    with override_settings(INSTANCE_ID="i-0abc123"):
        assert client.get("/healthz")["X-Served-By"] == "i-0abc123"


@override_settings(PROXY_COUNT=2)
@pytest.mark.parametrize(
    "trace",
    [
        "Root=1-67891233-abcdef012345678912345678",
        "Self=1-67891234-12456789abcdef012345678;Root=1-67891233-abcdef012345678912345678",
        "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
    ],
)
def test_request_id_comes_from_the_alb_trace_header(client, trace):
    response = client.get("/healthz", HTTP_X_AMZN_TRACE_ID=trace)
    assert response["X-Request-Id"] == trace


def test_a_trace_header_sent_straight_to_an_instance_is_not_the_request_id(client):
    trace = "Root=1-67891233-abcdef012345678912345678"  # well formed, but no proxy wrote it
    response = client.get("/healthz", HTTP_X_AMZN_TRACE_ID=trace)
    assert response["X-Request-Id"] != trace
    assert len(response["X-Request-Id"]) == 32


@override_settings(PROXY_COUNT=2)
@pytest.mark.parametrize(
    "trace",
    [
        "forged-by-a-client",
        "Root=1-67891233-abcdef012345678912345678 admin=true",
        "Root=1-67891233-abcdef012345678912345678;x=" + "a" * 5000,
        "Root=%0d%0aINFO fake log line",
        "Root=1-6789123-abcdef012345678912345678",  # seven hex digits of time
    ],
)
def test_a_trace_header_not_in_the_albs_format_is_not_the_request_id(client, trace):
    response = client.get("/healthz", HTTP_X_AMZN_TRACE_ID=trace)
    assert response["X-Request-Id"] != trace
    assert len(response["X-Request-Id"]) == 32


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


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["TRACE", "OPTIONS", "PUT", "DELETE", "PATCH", "PROPFIND"])
@pytest.mark.parametrize(
    "path", ["/", "/products/none/", "/cart/", "/cart/add/", "/accounts/login/", "/admin/"]
)
def test_methods_no_page_takes_are_405_everywhere(client, method, path):
    response = client.generic(method, path)
    assert response.status_code == 405
    assert response["Allow"] == "GET, HEAD, POST"
    assert response.content == b""  # never the page itself (TRACE would echo it)


@pytest.mark.django_db
def test_cross_origin_resource_policy_on_pages(client):
    assert client.get("/")["Cross-Origin-Resource-Policy"] == "same-origin"


def test_the_policy_built_once_is_django_csps_and_a_per_view_change_still_applies(rf):
    from csp.utils import build_policy
    from django.http import HttpResponse

    from webapp.security import PolicyOnceCSPMiddleware

    def plain(request):
        return HttpResponse("plain")

    def widened(request):
        response = HttpResponse("widened")
        response._csp_update = {"img-src": ["https://images.example"]}
        return response

    assert PolicyOnceCSPMiddleware(plain)(rf.get("/"))["Content-Security-Policy"] == (
        build_policy()
    )
    header = PolicyOnceCSPMiddleware(widened)(rf.get("/"))["Content-Security-Policy"]
    assert "https://images.example" in header
    assert header != build_policy()
