"""The admin behind a second factor: a staff member's password alone opens nothing."""

import re

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from accounts.models import User
from accounts.services import staff_second_factor_enroll
from tests.accounts.helpers import authenticator_code

pytestmark = pytest.mark.django_db
PASSWORD = "a-long-staff-password-1"


@pytest.fixture
def staff():
    return User.objects.create_superuser("staff@example.com", PASSWORD)


def admin_login(client, code, email="staff@example.com", password=PASSWORD):
    return client.post(
        "/admin/login/", {"username": email, "password": password, "otp_token": code}
    )


def in_admin(client) -> bool:
    return client.get("/admin/").status_code == 200


def test_the_password_alone_does_not_open_the_admin(client, staff):
    staff_second_factor_enroll(user=staff)
    response = client.post("/admin/login/", {"username": staff.email, "password": PASSWORD})
    assert response.status_code == 200
    assert b"This field is required" in response.content
    assert not in_admin(client)


def test_password_and_the_authenticator_code_open_the_admin(client, staff):
    url, _codes = staff_second_factor_enroll(user=staff)
    assert url.startswith("otpauth://totp/Corner%20Shop%3Astaff%40example.com?secret=")
    assert admin_login(client, authenticator_code(url)).status_code == 302
    assert in_admin(client)


def test_a_code_works_once(staff):
    url, _codes = staff_second_factor_enroll(user=staff)
    code = authenticator_code(url)
    assert admin_login(Client(), code).status_code == 302
    replayed = Client()
    assert admin_login(replayed, code).status_code == 200  # seen: an eavesdropper's copy
    assert not in_admin(replayed)


def test_a_wrong_code_is_refused(client, staff):
    url, _codes = staff_second_factor_enroll(user=staff)
    wrong = f"{(int(authenticator_code(url)) + 1) % 1_000_000:06d}"
    assert admin_login(client, wrong).status_code == 200
    assert not in_admin(client)


def test_each_recovery_code_works_once(staff):
    _url, codes = staff_second_factor_enroll(user=staff)
    assert len(set(codes)) == 10
    assert admin_login(Client(), codes[0]).status_code == 302
    assert admin_login(Client(), codes[1]).status_code == 302
    again = Client()
    assert admin_login(again, codes[0]).status_code == 200
    assert not in_admin(again)


def test_a_new_enrolment_replaces_the_old_secret_and_codes(staff):
    old_url, old_codes = staff_second_factor_enroll(user=staff)
    staff_second_factor_enroll(user=staff)  # a lost phone
    assert admin_login(Client(), authenticator_code(old_url)).status_code == 200
    assert admin_login(Client(), old_codes[0]).status_code == 200


def test_wrong_codes_count_in_the_shops_login_throttle(client, staff):
    url, _codes = staff_second_factor_enroll(user=staff)
    for _ in range(3):
        assert admin_login(client, "000000").status_code == 200
    shop = client.post("/accounts/login/", {"username": staff.email, "password": "wrong-1"})
    assert shop.status_code == 200  # the fourth failure, on the shop's login
    assert admin_login(client, "999999").status_code == 429  # the fifth: locked out
    assert admin_login(client, authenticator_code(url)).status_code == 429
    shop = client.post("/accounts/login/", {"username": staff.email, "password": PASSWORD})
    assert shop.status_code == 429
    assert not in_admin(client)


def test_a_staff_session_from_the_shops_login_must_still_pass_the_second_factor(client, staff):
    assert (
        client.post("/accounts/login/", {"username": staff.email, "password": PASSWORD}).status_code
        == 302
    )
    response = client.get("/admin/catalog/product/")
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_the_command_prints_a_qr_code_the_url_and_ten_recovery_codes(staff, capsys):
    call_command("staff_second_factor", "Staff@Example.com")
    out = capsys.readouterr().out
    url = re.search(r"otpauth://totp/\S+", out).group(0)
    codes = out.split("keep them somewhere safe):\n", 1)[1].split()
    assert len(codes) == 10
    assert "█" in out or "▀" in out  # the QR code, in block characters
    assert admin_login(Client(), authenticator_code(url)).status_code == 302
    assert admin_login(Client(), codes[3]).status_code == 302


def test_the_command_refuses_a_shopper():
    User.objects.create_user("shopper@example.com", PASSWORD)
    with pytest.raises(CommandError, match="No staff user"):
        call_command("staff_second_factor", "shopper@example.com")
