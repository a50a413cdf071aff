"""Reads for accounts: confirmation links and the address book."""

from django.db.models import QuerySet
from django.utils.encoding import force_str
from django.utils.http import urlsafe_base64_decode

from accounts.models import Address, User
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


def address_list(*, user: User) -> QuerySet[Address]:
    """The user's address book, the most recently used first."""
    return Address.objects.filter(user=user)


def address_get(*, user: User, pk: int | None) -> Address | None:
    """One of the user's own addresses; anybody else's is None."""
    return Address.objects.filter(user=user, pk=pk).first() if pk else None


def address_suggestion(*, user: User) -> dict[str, str]:
    """What a new address form starts with: the last address used, else the user's name."""
    latest = address_list(user=user).first()
    return latest.fields if latest else {"full_name": user.display_name}
