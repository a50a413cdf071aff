"""Writes for accounts: sign-up, email confirmation, the account emails' quota,
preferences and the address book."""

import hashlib

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import IntegrityError, connection, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import Address, User, normalize_email
from accounts.tokens import email_confirmation_token
from notifications.services import email_enqueue, event_key


def _send(*, to: str, template: str, context: dict, event: str) -> None:
    """Queue the email in the current transaction; `event` names what caused it, so the
    same event never makes two emails."""
    email_enqueue(
        key=event_key(template, event),
        kind=template,
        to=to,
        subject=render_to_string(f"accounts/email/{template}_subject.txt", context).strip(),
        body=render_to_string(f"accounts/email/{template}.txt", context),
    )


def _already_registered(email: str, context: dict) -> None:
    # One notice per address per hour: a stranger signing up with someone's address over
    # and over cannot flood their inbox.
    hour = timezone.now().strftime("%Y%m%d%H")
    _send(to=email, template="already_registered", context=context, event=f"{email}:{hour}")


def _is_pending(user: User) -> bool:
    """Signed up but never confirmed: nobody has proved they own the address yet."""
    return not user.is_active and not user.email_verified and user.last_login is None


# One statement per request: old windows' rows go (skipping any another request holds, so
# nobody waits), and both keys' counters for this window go up by one, created at 1. The
# keys come sorted, so two requests lock shared rows in the same order and never deadlock.
_QUOTA_SQL = """
WITH expired AS (
    DELETE FROM accounts_emailquota WHERE id IN (
        SELECT id FROM accounts_emailquota WHERE window_start < %s
        FOR UPDATE SKIP LOCKED
    )
)
INSERT INTO accounts_emailquota AS quota (key, window_start, count)
VALUES (%s, %s, 1), (%s, %s, 1)
ON CONFLICT (key, window_start) DO UPDATE SET count = quota.count + 1
RETURNING key, count
"""


def email_quota_take(*, address: str, client: str) -> bool:
    """May the shop send one more account email (sign-up confirmation, "you already have
    an account", password reset) to `address` at the request of `client`? The one place
    that decides, for every such email.

    Each asks counts against both the address (DJANGO_ACCOUNT_EMAILS_PER_ADDRESS an hour)
    and the client's address (DJANGO_ACCOUNT_EMAILS_PER_CLIENT an hour), whether or not an
    account exists, so the limit itself reveals nothing; callers answer with the same page
    either way. Counters live in PostgreSQL (one upsert, shared by every instance): of any
    number of concurrent asks, exactly the limit's worth get True.
    """
    window = timezone.now().replace(minute=0, second=0, microsecond=0)
    limits = {
        # Hashed: the table never holds an address someone typed, only its digest.
        "address:" + hashlib.sha256(normalize_email(address).encode()).hexdigest(): (
            settings.ACCOUNT_EMAILS_PER_ADDRESS
        ),
        f"client:{client}"[:100]: settings.ACCOUNT_EMAILS_PER_CLIENT,
    }
    keys = sorted(limits)
    with connection.cursor() as cursor:
        cursor.execute(_QUOTA_SQL, [window, keys[0], window, keys[1], window])
        counts = dict(cursor.fetchall())
    return all(counts[key] <= limit for key, limit in limits.items())


def user_sign_up(
    *, request, client: str, email: str, password: str, display_name: str = ""
) -> None:
    """Start a sign-up without revealing whether the address is registered.

    A new (or still unconfirmed) address gets an inactive account and a confirmation link;
    a registered one gets an email saying so, with links to log in or reset the password.
    The visitor sees the same page either way, and both paths hash a password, so the
    response time does not tell them apart either. Either email is queued in the
    transaction that reads (or writes) the account, and sent by a worker. Past the account
    emails' quota for the address or the `client`, nothing is written or sent, and the page
    is still the same.
    """
    email = normalize_email(email)
    if not email_quota_take(address=email, client=client):
        make_password(password)  # the same work, the same page, no email
        return
    context = {"email": email, "site": request.build_absolute_uri("/").rstrip("/")}
    try:
        with transaction.atomic():
            user = User.objects.select_for_update().filter(email=email).first()
            if user is None:
                user = User(email=email, is_active=False)
            elif not _is_pending(user):
                make_password(password)  # the same work as a sign-up, then tell the owner
                _already_registered(email, context)
                return
            user.display_name = display_name
            user.set_password(password)
            user.save()
            uid = urlsafe_base64_encode(force_bytes(user.pk))
            path = reverse(
                "accounts:confirm",
                kwargs={"uidb64": uid, "token": email_confirmation_token.make_token(user)},
            )
            _send(
                to=email,
                template="confirm_sign_up",
                context={**context, "confirm_url": request.build_absolute_uri(path)},
                event=path,
            )
    except IntegrityError:  # the same address signed up at the same moment: one row wins
        _already_registered(email, context)


RECOVERY_CODES = 10


def staff_second_factor_enroll(*, user: User) -> tuple[str, list[str]]:
    """Give a staff member a new second factor for the admin: an authenticator app's secret
    and RECOVERY_CODES single-use recovery codes, replacing any they had (a lost or new
    phone). Returns the app's otpauth:// URL (a QR code of it is what apps scan) and the
    codes, which are shown once and stored only as the devices keep them.
    """
    if not user.is_staff:
        raise ValueError(f"{user.email} is not staff: only the admin asks for a second factor")
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user).delete()
        StaticDevice.objects.filter(user=user).delete()
        app = TOTPDevice.objects.create(user=user, name="authenticator app", confirmed=True)
        recovery = StaticDevice.objects.create(user=user, name="recovery codes", confirmed=True)
        codes = [StaticToken.random_token() for _ in range(RECOVERY_CODES)]
        StaticToken.objects.bulk_create(StaticToken(device=recovery, token=c) for c in codes)
    return app.config_url, codes


def user_confirm_email(*, user: User) -> None:
    """The link in the sign-up email was followed: the address is proven, the account opens."""
    user.is_active = True
    user.email_verified = True
    user.save(update_fields=["is_active", "email_verified"])


def user_update_preferences(
    *, user: User, display_name: str, products_per_page: int, default_sort: str, newsletter: bool
) -> None:
    """Save the profile; the newsletter opt-in keeps the moment it was given."""
    if newsletter and not user.newsletter:
        user.newsletter_opted_in_at = timezone.now()
    elif not newsletter:
        user.newsletter_opted_in_at = None
    user.display_name = display_name
    user.products_per_page = products_per_page
    user.default_sort = default_sort
    user.newsletter = newsletter
    user.save(
        update_fields=[
            "display_name",
            "products_per_page",
            "default_sort",
            "newsletter",
            "newsletter_opted_in_at",
        ]
    )


def address_remember(*, user: User, fields: dict[str, str]) -> Address:
    """Save a shipping address to the user's address book (once), marked as just used."""
    address, created = Address.objects.get_or_create(user=user, **fields)
    if not created:
        address.last_used_at = timezone.now()
        address.save(update_fields=["last_used_at"])
    return address
