import re

import pytest
from django.test import Client, override_settings

from accounts.models import User
from tests.accounts.helpers import PASSWORD
from tests.mail import outbox
from webapp.models import Session

pytestmark = pytest.mark.django_db


@pytest.fixture
def ann():
    return User.objects.create_user("ann@example.com", PASSWORD, email_verified=True)


def log_in(client, email="ann@example.com", password=PASSWORD, **headers):
    return client.post("/accounts/login/", {"username": email, "password": password}, **headers)


def test_login_rotates_the_session_key(client, ann):
    client.get("/products/none/")  # any page
    client.session["probe"] = 1
    session = client.session
    session["probe"] = 1
    session.save()
    before = client.cookies["sessionid"].value
    response = log_in(client, "ANN@example.com")
    assert response.status_code == 302
    assert client.cookies["sessionid"].value != before
    assert not Session.objects.filter(session_key=before).exists()
    assert client.session["_auth_user_id"] == str(ann.pk)


def test_wrong_password_and_unknown_email_get_the_same_answer(client, ann):
    wrong = log_in(client, password="nope-nope-nope")
    unknown = log_in(client, email="nobody@example.com")
    assert wrong.status_code == unknown.status_code == 200
    assert wrong.context["form"].errors == unknown.context["form"].errors
    assert b"do not match an account" in wrong.content


def test_logout_flushes_the_session(client, ann):
    log_in(client)
    key = client.cookies["sessionid"].value
    assert client.post("/accounts/logout/").status_code == 302
    assert not Session.objects.filter(session_key=key).exists()
    assert "_auth_user_id" not in client.session


def test_logout_by_get_is_refused(client, ann):
    log_in(client)
    assert client.get("/accounts/logout/").status_code == 405
    assert "_auth_user_id" in client.session


def test_five_failures_lock_the_account_from_that_address(client, ann):
    for _ in range(4):
        assert log_in(client, password="wrong-guess-123").status_code == 200
    assert log_in(client, password="wrong-guess-123").status_code == 429  # the fifth
    locked = log_in(client)  # even the right password, for a while
    assert locked.status_code == 429
    assert b"Too many attempts" in locked.content
    assert "_auth_user_id" not in client.session
    assert log_in(Client(), REMOTE_ADDR="10.9.8.7").status_code == 302  # elsewhere: fine


@pytest.mark.parametrize("path", ["/accounts/login/", "/admin/login/"])
def test_lockout_counts_the_address_whatever_its_letter_case(client, ann, path):
    ann.is_staff = True
    ann.save()
    for email in ["ann@example.com", "ANN@EXAMPLE.COM", "Ann@example.com", "aNN@Example.Com"]:
        assert client.post(path, {"username": email, "password": "wrong-1"}).status_code == 200
    fifth = client.post(path, {"username": "ANN@example.COM", "password": "wrong-1"})
    assert fifth.status_code == 429
    # The owner's right password, in a case not tried yet, is locked out too.
    locked = client.post(path, {"username": "AnN@ExAmPlE.cOm", "password": PASSWORD})
    assert locked.status_code == 429
    assert "_auth_user_id" not in client.session


def test_lockout_is_the_same_for_unknown_addresses(client):
    for _ in range(5):
        log_in(client, email="ghost@example.com", password="wrong-guess-123")
    response = log_in(client, email="ghost@example.com")
    assert response.status_code == 429


@override_settings(PROXY_COUNT=2)
def test_lockout_counts_the_client_address_behind_cloudfront_and_the_alb(client, ann):
    for n in range(5):
        forged = f"6.6.6.{n}, 203.0.113.9, 130.176.0.1"  # forged, client, CloudFront edge
        log_in(client, password="wrong-guess-123", HTTP_X_FORWARDED_FOR=forged)
    response = log_in(client, HTTP_X_FORWARDED_FOR="1.1.1.1, 203.0.113.9, 130.176.0.2")
    assert response.status_code == 429


def test_password_change_needs_the_old_password(client, ann):
    log_in(client)
    wrong = client.post(
        "/accounts/password/change/",
        {
            "old_password": "bad",
            "new_password1": "N3w-pass-phrase",
            "new_password2": "N3w-pass-phrase",
        },
    )
    assert wrong.status_code == 200 and wrong.context["form"].errors["old_password"]
    right = client.post(
        "/accounts/password/change/",
        {
            "old_password": PASSWORD,
            "new_password1": "N3w-pass-phrase",
            "new_password2": "N3w-pass-phrase",
        },
    )
    assert right["Location"] == "/accounts/password/change/done/"
    ann.refresh_from_db()
    assert ann.check_password("N3w-pass-phrase")


def test_password_change_requires_login(client):
    response = client.get("/accounts/password/change/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_password_reset_answers_the_same_for_unknown_addresses(client, ann):
    known = client.post("/accounts/password/reset/", {"email": "ann@example.com"})
    unknown = client.post("/accounts/password/reset/", {"email": "nobody@example.com"})
    assert known["Location"] == unknown["Location"] == "/accounts/password/reset/sent/"
    assert [m.to for m in outbox()] == [["ann@example.com"]]


def test_password_reset_link_sets_a_new_password_once(client, ann):
    client.post("/accounts/password/reset/", {"email": "ann@example.com"})
    link = re.search(r"http://testserver(/accounts/password/reset/\S+/)", outbox()[0].body)
    form_page = client.get(link.group(1), follow=True)
    assert b"Choose a new password" in form_page.content
    done = client.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": "Fresh-pass-phrase-1", "new_password2": "Fresh-pass-phrase-1"},
    )
    assert done["Location"] == "/accounts/password/reset/complete/"
    ann.refresh_from_db()
    assert ann.check_password("Fresh-pass-phrase-1")
    assert b"This link is invalid" in Client().get(link.group(1), follow=True).content


@pytest.mark.parametrize(
    "link", ["/accounts/password/reset/MQ/bad-token/", "/accounts/password/reset/zzz/1-2/"]
)
def test_tampered_reset_links_are_invalid(client, ann, link):
    response = client.get(link, follow=True)
    assert response.status_code == 200
    assert b"This link is invalid" in response.content


def test_post_without_csrf_token_is_a_403_page(ann):
    client = Client(enforce_csrf_checks=True)
    response = log_in(client)
    assert response.status_code == 403
    assert b"This form has expired" in response.content


@override_settings(SESSION_COOKIE_SECURE=True, CSRF_COOKIE_SECURE=True)
def test_session_cookie_flags(client, ann):
    response = log_in(client)
    cookie = response.cookies["sessionid"]
    assert cookie["secure"] and cookie["httponly"]
    assert cookie["samesite"] == "Lax"
    assert response.cookies["csrftoken"]["secure"]
