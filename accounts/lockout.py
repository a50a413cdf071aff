"""The login throttle's view of who is logging in (django-axes).

Login compares addresses lower-cased (`accounts.models.normalize_email`), so the throttle
must count them the same way: otherwise `CAROL@example.com` and `carol@example.com` would
each get their own five guesses at one account.
"""

from django.conf import settings

from accounts.models import normalize_email


def lockout_username(request, credentials: dict | None) -> str:
    """The address a login attempt names, normalised as login normalises it (from the
    credentials django-axes is given, else from the form the shop's or the admin's login
    posted)."""
    source = credentials if credentials else getattr(request, "POST", {})
    return normalize_email(source.get(settings.AXES_USERNAME_FORM_FIELD) or "")
