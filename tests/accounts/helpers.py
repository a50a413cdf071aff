import base64
import re
from urllib.parse import parse_qs, urlsplit

from django_otp.oath import totp

from accounts.models import User
from accounts.services import staff_second_factor_enroll
from tests.mail import outbox

PASSWORD = "correct-horse-battery-9"


def sign_up(client, email="ann@example.com", password=PASSWORD, **extra):
    data = {"email": email, "password1": password, "password2": password, **extra}
    return client.post("/accounts/signup/", data)


def link_in_last_mail(pattern=r"http://testserver(/accounts/[^\s]+/)"):
    return re.search(pattern, outbox()[-1].body).group(1)


def confirmed_user(client, email="ann@example.com", password=PASSWORD) -> User:
    """Sign up and confirm through the real email link; the client ends logged in."""
    sign_up(client, email, password)
    client.post(link_in_last_mail())
    return User.objects.get(email=email)


def authenticator_code(otpauth_url: str) -> str:
    """The code an authenticator app shows now for the secret in `otpauth_url` (RFC 6238:
    HMAC-SHA1 of the 30-second step, six digits), as a phone computes it."""
    secret = parse_qs(urlsplit(otpauth_url).query)["secret"][0]
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    return f"{totp(key):06d}"


def admin_login_form(user: User, password: str) -> dict[str, str]:
    """The admin login's fields for `user`, after giving them a fresh second factor."""
    otpauth_url, _codes = staff_second_factor_enroll(user=user)
    return {
        "username": user.email,
        "password": password,
        "otp_token": authenticator_code(otpauth_url),
    }


def admin_log_in(client, user: User, password: str) -> None:
    """Log a Django test client into the admin as staff do: password and a TOTP code."""
    response = client.post("/admin/login/", admin_login_form(user, password))
    assert response.status_code == 302, response.content.decode()[:2000]
