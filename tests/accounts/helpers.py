import re

from accounts.models import User
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
