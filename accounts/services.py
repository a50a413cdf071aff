"""Writes for accounts: sign-up, email confirmation and change, the account emails' quota,
preferences, the address book, signed-in devices, form drafts, and closing an account."""

import hashlib
from datetime import timedelta

from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.conf import settings
from django.contrib.admin.models import LogEntry
from django.contrib.auth.hashers import make_password
from django.contrib.contenttypes.models import ContentType
from django.core.cache import cache
from django.db import IntegrityError, connection, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import (
    DRAFT_TTL_DAYS,
    Address,
    FormDraft,
    User,
    normalize_email,
    signed_in_user_cache_key,
)
from accounts.selectors import session_ref
from accounts.tokens import email_change_token, email_confirmation_token
from cart.models import Cart, Order
from cart.services import orders_attach_guest
from catalog import history
from catalog.models import Pick, RecentView
from notifications.services import email_enqueue, emails_forget, event_key
from webapp.models import Session
from webapp.sessions import sessions_delete


def _send(*, to: str, template: str, context: dict, event: str, **options) -> None:
    """Queue the email in the current transaction; `event` names what caused it, so the
    same event never makes two emails (`options`: email_enqueue's)."""
    email_enqueue(
        key=event_key(template, event),
        kind=template,
        to=to,
        subject=render_to_string(f"accounts/email/{template}_subject.txt", context).strip(),
        body=render_to_string(f"accounts/email/{template}.txt", context),
        **options,
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


def _link(*, site: str, name: str, user: User, token: str) -> str:
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    return site + reverse(name, kwargs={"uidb64": uid, "token": token})


def user_email_change_request(*, user: User, new_email: str, site: str, client: str) -> None:
    """Ask to log in with `new_email` from now on: the login changes only when a link sent
    to that address is followed (user_email_change_confirm); the current address gets a
    notice. If another account already uses the new address, its mailbox is told so
    instead: the page the shopper sees is the same, so nobody learns which addresses have
    accounts. Within the account emails' quota, like every account email: past it, the
    same page and no email."""
    new_email = normalize_email(new_email)
    if not email_quota_take(address=new_email, client=client):
        return
    context = {"user": user, "old_email": user.email, "new_email": new_email, "site": site}
    with transaction.atomic():  # the emails are queued with the change that causes them
        user.pending_email = new_email
        user.save(update_fields=["pending_email"])
        token = email_change_token.make_token(user)
        event = f"{user.pk}:{new_email}:{token}"  # a double submit makes no second email
        if User.objects.filter(email=new_email).exclude(pk=user.pk).exists():
            _send(to=new_email, template="email_change_taken", context=context, event=event)
        else:
            confirm_url = _link(site=site, name="accounts:email_confirm", user=user, token=token)
            _send(
                to=new_email,
                template="email_change_confirm",
                context={**context, "confirm_url": confirm_url},
                event=event,
            )
        _send(to=user.email, template="email_change_notice", context=context, event=event)


def user_email_change_confirm(*, user: User) -> bool:
    """The link sent to the pending address was followed: it becomes the login. False if
    another account took that address meanwhile (nothing changes then)."""
    try:
        with transaction.atomic():
            user.email, user.pending_email = user.pending_email, ""
            user.email_verified = True
            user.save(update_fields=["email", "pending_email", "email_verified"])
    except IntegrityError:
        user.refresh_from_db()
        return False
    orders_attach_guest(user=user)  # the new address is proven: its guest orders are theirs
    return True


def address_remember(*, user: User, fields: dict[str, str]) -> Address:
    """Save a shipping address to the user's address book (once), marked as just used."""
    address, created = Address.objects.get_or_create(user=user, **fields)
    if not created:
        address.last_used_at = timezone.now()
        address.save(update_fields=["last_used_at"])
    return address


def address_update(*, address: Address, fields: dict[str, str]) -> None:
    """Change an address book entry; orders already placed keep the copy they were sent to."""
    for name, value in fields.items():
        setattr(address, name, value)
    address.save(update_fields=list(fields))


def address_delete(*, user: User, pk: int) -> bool:
    """Delete one of the user's own addresses (False for anybody else's: nothing changes);
    if it was the default, the account has none until another is chosen."""
    deleted, _ = Address.objects.filter(user=user, pk=pk).delete()
    return bool(deleted)


def address_set_default(*, user: User, pk: int) -> bool:
    """Make one of the user's own addresses the one checkout offers first, in one UPDATE
    that checks the owner (False for anybody else's address: nothing changes)."""
    updated = User.objects.filter(pk=user.pk, addresses__pk=pk).update(default_address_id=pk)
    if updated:
        user.default_address_id = pk
        signed_in_user_forget([user.pk])  # an UPDATE sends no post_save
    return bool(updated)


def signed_in_user_forget(user_ids) -> None:
    """Drop the accounts' signed-in cache entries (accounts/middleware.py) now and again once
    the change commits, so a request that read the old row meanwhile cannot leave it
    cached. Every change to an account calls it: post_save and the other signals in
    accounts/signals.py, and each UPDATE of the user table here."""
    keys = [signed_in_user_cache_key(pk) for pk in set(user_ids)]
    if keys:
        cache.delete_many(keys)
        transaction.on_commit(lambda: cache.delete_many(keys))


def sessions_end(*, user: User, keep: str | None = None) -> int:
    """Sign the account out of every session but `keep` (the browser asking), on every
    instance at once: a password change or reset, "sign out everywhere else", closing the
    account. Returns how many sessions ended."""
    keys = list(
        Session.objects.filter(user=user)
        .exclude(session_key=keep)
        .values_list("session_key", flat=True)
    )
    sessions_delete(keys)
    return len(keys)


def session_end(*, user: User, ref: str) -> bool:
    """Sign out the one session of this account that `ref` names (as the signed-in devices
    page shows it); False if the account has no such session."""
    keys = Session.objects.filter(user=user).values_list("session_key", flat=True)
    found = [key for key in keys if session_ref(key) == ref]
    sessions_delete(found)
    return bool(found)


def draft_save(*, user: User, form: str, data: dict[str, str]) -> None:
    """Keep what the shopper has typed into `form` so far (fields checked by the caller's
    form), replacing the previous draft; a draft with nothing typed in is no draft."""
    kept = {name: value for name, value in data.items() if value}
    if not kept:
        draft_discard(user=user, form=form)
        return
    FormDraft.objects.update_or_create(
        user=user, form=form, defaults={"data": kept, "updated_at": timezone.now()}
    )


def draft_discard(*, user: User, form: str) -> None:
    FormDraft.objects.filter(user=user, form=form).delete()


def drafts_purge() -> int:
    """Delete drafts nobody touched for DRAFT_TTL_DAYS; returns how many."""
    cutoff = timezone.now() - timedelta(days=DRAFT_TTL_DAYS)
    deleted, _ = FormDraft.objects.filter(updated_at__lt=cutoff).delete()
    return deleted


# What closing an account keeps of each order for the books: the lines, prices, totals,
# dates, status, payment reference and the country (tax); the rest of its address and the
# email address are erased.
ORDER_FIELDS_ERASED = {
    "full_name": "",
    "line1": "",
    "line2": "",
    "city": "",
    "postcode": "",
    "email": "",
}


def user_erase(*, user: User, site: str) -> None:
    """Close the account: everything personal is deleted or erased in one transaction, and
    an email to the address it had confirms it.

    Deleted: sessions (signed out everywhere), addresses, the cart, recently viewed, picks,
    form drafts, failed-login records. Erased on the row, which stays because the orders
    name it: email, name, password, preferences; the admin lists it as an erased account.
    Orders stay for the books, with ORDER_FIELDS_ERASED erased (guest orders with the
    address are the account's too, once it is proven: they are attached first).
    """
    email, pending = user.email, user.pending_email
    with transaction.atomic():
        # Locked first: a worker saving recently viewed lists waits, then skips the account
        # (catalog.services.recently_viewed_save).
        User.objects.select_for_update().filter(pk=user.pk).first()
        orders_attach_guest(user=user)
        for address in filter(None, [email, pending]):
            emails_forget(address=address)
        sessions_end(user=user)
        Address.objects.filter(user=user).delete()
        Cart.objects.filter(user=user).delete()
        RecentView.objects.filter(user=user).delete()
        transaction.on_commit(lambda: history.account_forget(user.pk))
        Pick.objects.filter(user=user).delete()
        FormDraft.objects.filter(user=user).delete()
        for model in [AccessAttempt, AccessFailureLog, AccessLog]:
            model.objects.filter(username=email).delete()
        Order.objects.filter(user=user).update(**ORDER_FIELDS_ERASED)
        LogEntry.objects.filter(
            content_type=ContentType.objects.get_for_model(User), object_id=str(user.pk)
        ).update(object_repr=f"erased account #{user.pk}")
        user.email = f"erased-{user.pk}@erased.invalid"
        user.pending_email = ""
        user.display_name = ""
        user.set_unusable_password()
        user.is_active = user.email_verified = user.newsletter = False
        user.newsletter_opted_in_at = user.last_login = user.default_address = None
        user.erased_at = timezone.now()
        user.save()
        _send(
            to=email,
            template="account_closed",
            context={"email": email, "site": site},
            event=str(user.pk),
            erase_when_sent=True,  # the goodbye keeps no trace of the address once sent
        )
