import pytest

from accounts.models import User
from tests.accounts.helpers import PASSWORD, confirmed_user, link_in_last_mail, sign_up
from tests.mail import outbox

pytestmark = pytest.mark.django_db


def test_sign_up_sends_a_confirmation_link_and_waits_for_it(client):
    response = sign_up(client, "Ann@Example.com", display_name="Ann")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/signup/done/"
    user = User.objects.get(email="ann@example.com")
    assert not user.is_active and not user.email_verified
    assert len(outbox()) == 1
    assert outbox()[0].to == ["ann@example.com"]
    assert "/accounts/confirm/" in outbox()[0].body
    assert "_auth_user_id" not in client.session


def test_confirmation_link_asks_then_logs_in(client):
    sign_up(client)
    link = link_in_last_mail()
    page = client.get(link)
    assert page.status_code == 200
    assert b"Confirm and log in" in page.content
    assert not User.objects.get(email="ann@example.com").is_active  # a GET changes nothing

    response = client.post(link)
    assert response.status_code == 302
    user = User.objects.get(email="ann@example.com")
    assert user.is_active and user.email_verified
    assert client.session["_auth_user_id"] == str(user.pk)


def test_confirmation_link_works_once(client):
    sign_up(client)
    link = link_in_last_mail()
    client.post(link)
    client.post("/accounts/logout/")
    again = client.post(link)
    assert again.status_code == 400
    assert b"This link is invalid" in again.content


def test_registered_address_gets_the_same_answer_and_a_warning_mail(client):
    confirmed_user(client)
    client.post("/accounts/logout/")
    client.get("/")  # shows (and so clears) the welcome message
    original = User.objects.get(email="ann@example.com").password
    fresh = sign_up(client, "bob@example.com")
    known = sign_up(client, "ann@example.com", password="another-Password-42")
    assert (known.status_code, known["Location"]) == (fresh.status_code, fresh["Location"])
    assert "already has one" in outbox()[-1].body
    assert User.objects.get(email="ann@example.com").password == original
    assert client.get(known["Location"]).content == client.get(fresh["Location"]).content


def test_signing_up_again_before_confirming_replaces_the_link(client):
    sign_up(client)
    first_link = link_in_last_mail()
    sign_up(client, password="a-different-Password-7")
    second_link = link_in_last_mail()
    assert client.post(first_link).status_code == 400
    assert client.post(second_link).status_code == 302
    assert User.objects.get(email="ann@example.com").check_password("a-different-Password-7")


def test_unconfirmed_account_cannot_log_in_and_says_nothing_more(client):
    sign_up(client)
    pending = client.post("/accounts/login/", {"username": "ann@example.com", "password": PASSWORD})
    unknown = client.post(
        "/accounts/login/", {"username": "nobody@example.com", "password": PASSWORD}
    )
    assert pending.status_code == unknown.status_code == 200
    assert pending.context["form"].errors == unknown.context["form"].errors


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"email": "not-an-email"}, "email"),
        ({"email": "a" * 250 + "@example.com"}, "email"),
        ({"email": ""}, "email"),
        ({"password1": "", "password2": ""}, "password1"),
        ({"password2": "something-else-entirely-1"}, "password2"),
        ({"password1": "password", "password2": "password"}, "password1"),
        ({"password1": "ann@example.com", "password2": "ann@example.com"}, "password1"),
        ({"password1": "x" * 10_000, "password2": "x" * 10_000}, "password1"),
        ({"display_name": "N" * 10_000}, "display_name"),
    ],
)
def test_bad_sign_up_input_is_a_form_error_and_saves_nothing(client, data, field):
    form = {"email": "ann@example.com", "password1": PASSWORD, "password2": PASSWORD, **data}
    response = client.post("/accounts/signup/", form)
    assert response.status_code == 200
    assert response.context["form"].errors[field]
    assert not User.objects.exists()
    assert not outbox()


@pytest.mark.parametrize(
    "link",
    [
        "/accounts/confirm/MQ/not-a-token/",
        "/accounts/confirm/!!!/abc-def/",
        "/accounts/confirm/OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk5/abc-def/",
        "/accounts/confirm/MQ/" + "a" * 5000 + "/",
    ],
)
def test_tampered_confirmation_links_are_invalid(client, link):
    sign_up(client)
    response = client.get(link)
    assert response.status_code == 400
    assert b"This link is invalid" in response.content
    assert not User.objects.get().is_active


def test_logged_in_visitor_is_sent_home_from_sign_up(client):
    confirmed_user(client)
    assert client.get("/accounts/signup/")["Location"] == "/"
