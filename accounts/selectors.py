"""Reads for accounts."""

from django.utils.encoding import force_str
from django.utils.http import urlsafe_base64_decode

from accounts.models import User
from accounts.tokens import email_confirmation_token


def user_from_confirmation_link(*, uidb64: str, token: str) -> User | None:
    """The user a sign-up confirmation link names, if the link is genuine and unused."""
    try:
        pk = int(force_str(urlsafe_base64_decode(uidb64)))
    except (ValueError, TypeError, OverflowError):
        return None
    if not 0 < pk < 2**63:  # outside a bigint the database would refuse the query
        return None
    user = User.objects.filter(pk=pk).first()
    if user is None or not email_confirmation_token.check_token(user, token):
        return None
    return user
