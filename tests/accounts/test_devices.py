"""Signed-in devices: every session of the account, findable by its indexed user column,
signed out one at a time, everywhere else, or by a new password."""

import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from accounts.models import User
from accounts.selectors import describe_user_agent, session_ref
from tests.accounts.helpers import PASSWORD, admin_log_in
from tests.mail import outbox
from webapp import sessions
from webapp.models import Session

pytestmark = pytest.mark.django_db
LINUX_CHROME = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36"
)
IPHONE_SAFARI = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1"
)
NEW_PASSWORD = "N3w-pass-phrase-2"


@pytest.fixture
def ann():
    return User.objects.create_user("ann@example.com", PASSWORD, email_verified=True)


def browser(user_agent=LINUX_CHROME, address="203.0.113.7", email="ann@example.com") -> Client:
    """A browser that logged in through the login form, as a shopper does."""
    client = Client(HTTP_USER_AGENT=user_agent, REMOTE_ADDR=address)
    response = client.post("/accounts/login/", {"username": email, "password": PASSWORD})
    assert response.status_code == 302
    return client


def signed_in(client: Client) -> bool:
    return client.get("/accounts/preferences/").status_code == 200


def test_every_session_is_listed_with_browser_place_and_times(ann):
    laptop = browser()
    phone = browser(IPHONE_SAFARI, "2001:db8:85a3:8d3:1319:8a2e:370:7348")
    page = laptop.get("/accounts/sessions/")
    assert page.status_code == 200
    devices = page.context["devices"]
    assert [(d.browser, d.place, d.current) for d in devices] == [
        ("Chrome 120 on Linux", "203.0.113.x", True),
        ("Mobile Safari 17 on iOS", "2001:db8:85a3::/48", False),
    ]
    assert all(d.signed_in_at and d.last_activity for d in devices)
    assert b"This browser" in page.content
    assert phone.cookies["sessionid"].value not in page.content.decode()  # keys never shown
    assert Session.objects.filter(user=ann).count() == 2


def test_sign_out_one_device(ann):
    laptop, phone = browser(), browser(IPHONE_SAFARI)
    phone_key = phone.cookies["sessionid"].value
    response = laptop.post(f"/accounts/sessions/{session_ref(phone_key)}/sign-out/")
    assert response["Location"] == "/accounts/sessions/"
    assert not Session.objects.filter(session_key=phone_key).exists()
    assert not signed_in(phone)
    assert signed_in(laptop)


def test_sign_out_everywhere_else_keeps_only_this_browser(ann):
    laptop = browser()
    others = [browser(IPHONE_SAFARI), browser(address="198.51.100.4")]
    laptop.post("/accounts/sessions/sign-out-others/")
    assert not any(signed_in(other) for other in others)
    assert signed_in(laptop)
    assert list(Session.objects.filter(user=ann).values_list("session_key", flat=True)) == [
        laptop.cookies["sessionid"].value
    ]


def test_another_accounts_session_is_a_404_and_stays_signed_in(ann):
    User.objects.create_user("bob@example.com", PASSWORD, email_verified=True)
    laptop, bob = browser(), browser(email="bob@example.com")
    bobs = session_ref(bob.cookies["sessionid"].value)
    assert laptop.post(f"/accounts/sessions/{bobs}/sign-out/").status_code == 404
    assert laptop.post("/accounts/sessions/not-a-session/sign-out/").status_code == 404
    assert signed_in(bob)


def test_this_browser_signs_out_with_log_out_not_from_the_list(ann):
    laptop = browser()
    own = session_ref(laptop.cookies["sessionid"].value)
    assert laptop.post(f"/accounts/sessions/{own}/sign-out/").status_code == 400
    assert signed_in(laptop)


def test_device_pages_need_login_post_and_csrf(ann):
    assert Client().get("/accounts/sessions/")["Location"].startswith("/accounts/login/")
    laptop = browser()
    assert laptop.get("/accounts/sessions/sign-out-others/").status_code == 405
    strict = Client(enforce_csrf_checks=True)
    strict.cookies = laptop.cookies
    assert strict.post("/accounts/sessions/sign-out-others/").status_code == 403


def session_updates(client: Client, requests: int) -> int:
    """UPDATEs of the session table while `client` browses `requests` pages."""
    with CaptureQueriesContext(connection) as queries:
        for _ in range(requests):
            assert client.get("/accounts/preferences/").status_code == 200
    return sum("UPDATE webapp_session" in q["sql"] for q in queries.captured_queries)


def test_last_activity_is_written_at_most_once_per_interval(ann, monkeypatch):
    laptop = browser()
    key = laptop.cookies["sessionid"].value
    assert session_updates(laptop, 5) == 0  # within the interval: no write at all
    before = Session.objects.get(session_key=key).last_activity
    monkeypatch.setattr(sessions, "ACTIVITY_INTERVAL", 0)  # as if the interval had passed
    assert session_updates(laptop, 1) == 1  # one UPDATE, the session's usual statement
    assert Session.objects.get(session_key=key).last_activity >= before
    assert Session.objects.get(session_key=key).user_agent == LINUX_CHROME


def test_anonymous_sessions_record_no_activity(ann):
    visitor = Client()
    visitor.get("/accounts/login/")
    visitor.session.save()
    with CaptureQueriesContext(connection) as queries:
        visitor.get("/accounts/login/")
    assert not [q for q in queries.captured_queries if "webapp_session" in q["sql"]]


def change_password(client: Client):
    return client.post(
        "/accounts/password/change/",
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )


def test_a_password_change_deletes_every_other_session(ann):
    laptop, phone, tablet = browser(), browser(IPHONE_SAFARI), browser(address="198.51.100.4")
    old_keys = {c.cookies["sessionid"].value for c in (phone, tablet)}
    assert change_password(laptop)["Location"] == "/accounts/password/change/done/"
    rows = list(Session.objects.filter(user=ann))
    assert [row.session_key for row in rows] == [laptop.cookies["sessionid"].value]
    assert rows[0].user_agent == LINUX_CHROME  # the device survives the new key
    assert not Session.objects.filter(session_key__in=old_keys).exists()
    assert not signed_in(phone) and not signed_in(tablet)
    assert signed_in(laptop)


def test_a_password_reset_deletes_every_session(ann):
    laptop, phone = browser(), browser(IPHONE_SAFARI)
    stranger = Client()
    stranger.post("/accounts/password/reset/", {"email": "ann@example.com"})
    link = re.search(r"http://testserver(/accounts/password/reset/\S+/)", outbox()[-1].body)
    form_page = stranger.get(link.group(1), follow=True)
    stranger.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert not Session.objects.filter(user=ann).exists()
    assert not signed_in(laptop) and not signed_in(phone)


def test_an_admin_setting_a_password_signs_the_account_out(ann):
    phone = browser(IPHONE_SAFARI)
    admin = Client()
    admin_log_in(
        admin,
        User.objects.create_superuser("admin@example.com", "admin-password-1"),
        "admin-password-1",
    )
    response = admin.post(
        f"/admin/accounts/user/{ann.pk}/password/",
        {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "usable_password": "true"},
    )
    assert response.status_code == 302
    assert not Session.objects.filter(user=ann).exists()
    assert not signed_in(phone)


@pytest.mark.parametrize(
    "agent, described",
    [
        ("", "Unknown browser"),
        ("curl/8.5.0", "curl 8"),
        (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0",
            "Firefox 121 on Windows",
        ),
    ],
)
def test_user_agents_are_described_in_words(agent, described):
    assert describe_user_agent(agent) == described
