"""The address the login throttle counts is the one CloudFront saw, whatever the client
writes into X-Forwarded-For; requests that did not come through CloudFront are refused.

What reaches the app in production: the client's own X-Forwarded-For (anything), then
the viewer's address appended by CloudFront, then CloudFront's appended by the ALB, and
the X-Origin-Verify header CloudFront adds (the ALB forwards nothing without it).
"""

import pytest
from axes.models import AccessAttempt
from django.test import override_settings

from accounts.models import User
from tests.accounts.helpers import PASSWORD

pytestmark = pytest.mark.django_db

SECRET = "origin-secret-for-the-tests"
VIEWER = "203.0.113.9"
# What a client can put in the header before CloudFront appends to it.
FORGED = [
    None,
    "6.6.6.6",
    "1.1.1.1, 2.2.2.2, 3.3.3.3",
    "203.0.113.10",
    "not-an-address",
    ", , ,",
    "2001:db8::1",
    "127.0.0.1, 10.0.0.1",
    "x" * 500,
]


def _through_cloudfront(forged: str | None, edge: str = "130.176.0.7") -> dict:
    chain = ", ".join(part for part in (forged, VIEWER, edge) if part is not None)
    return {"HTTP_X_FORWARDED_FOR": chain, "HTTP_X_ORIGIN_VERIFY": SECRET}


def _log_in(client, password, **headers):
    data = {"username": "ann@example.com", "password": password}
    return client.post("/accounts/login/", data, REMOTE_ADDR="10.40.0.5", **headers)


@pytest.fixture
def behind_cloudfront(settings):
    settings.PROXY_COUNT = 2
    settings.ORIGIN_SECRET = SECRET
    User.objects.create_user("ann@example.com", PASSWORD, email_verified=True)


def test_a_forged_forwarded_for_never_changes_the_address_the_throttle_counts(
    client, behind_cloudfront
):
    for forged in FORGED[:5]:
        _log_in(client, "wrong-guess-123", **_through_cloudfront(forged))
    assert list(AccessAttempt.objects.values_list("ip_address", "failures_since_start")) == [
        (VIEWER, 5)
    ]
    for forged in FORGED[5:]:  # locked, whatever the header says
        assert _log_in(client, PASSWORD, **_through_cloudfront(forged)).status_code == 429


def test_another_viewer_is_counted_apart(client, behind_cloudfront):
    for _ in range(5):
        _log_in(client, "wrong-guess-123", **_through_cloudfront("6.6.6.6"))
    other = _through_cloudfront("6.6.6.6")
    other["HTTP_X_FORWARDED_FOR"] = "6.6.6.6, 198.51.100.4, 130.176.0.7"
    assert _log_in(client, PASSWORD, **other).status_code == 302


def test_a_request_without_the_origin_header_is_refused_and_counts_nothing(
    client, behind_cloudfront
):
    for headers in ({}, {"HTTP_X_ORIGIN_VERIFY": "guessed"}):
        response = _log_in(client, "wrong-guess-123", HTTP_X_FORWARDED_FOR="1.2.3.4", **headers)
        assert response.status_code == 403
    assert not AccessAttempt.objects.exists()


def test_health_checks_need_no_origin_header(client, behind_cloudfront):
    assert client.get("/healthz").status_code == 200


@override_settings(PROXY_COUNT=2)
def test_an_entry_that_is_not_an_address_counts_as_the_peer_not_as_an_error(client):
    User.objects.create_user("ann@example.com", PASSWORD, email_verified=True)
    response = _log_in(client, "wrong", HTTP_X_FORWARDED_FOR="garbage, 130.176.0.7")
    assert response.status_code == 200
    assert list(AccessAttempt.objects.values_list("ip_address", flat=True)) == ["10.40.0.5"]
