"""Reads for accounts: links in emails, the address book, signed-in devices, form drafts
and the account's data."""

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

from axes.models import AccessAttempt
from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.db.models import BooleanField, ExpressionWrapper, Q, QuerySet
from django.utils import timezone
from django.utils.encoding import force_str
from django.utils.http import urlsafe_base64_decode

from accounts.models import ADDRESS_FIELDS, DRAFT_TTL_DAYS, Address, FormDraft, User
from accounts.tokens import email_change_token, email_confirmation_token
from cart.models import CartLine, Order
from catalog.models import Pick
from catalog.selectors import recently_viewed_export
from webapp.models import Session


def _user_from_link(uidb64: str, token: str, generator: PasswordResetTokenGenerator):
    try:
        pk = int(force_str(urlsafe_base64_decode(uidb64)))
    except (ValueError, TypeError, OverflowError):
        return None
    if not 0 < pk < 2**63:  # outside a bigint the database would refuse the query
        return None
    user = User.objects.filter(pk=pk).first()
    if user is None or not generator.check_token(user, token):
        return None
    return user


def user_from_confirmation_link(*, uidb64: str, token: str) -> User | None:
    """The user a sign-up confirmation link names, if the link is genuine and unused."""
    return _user_from_link(uidb64, token, email_confirmation_token)


def user_from_email_change_link(*, uidb64: str, token: str) -> User | None:
    """The user an email-change link names, if the link is genuine, unused, unexpired and
    for the address still pending."""
    user = _user_from_link(uidb64, token, email_change_token)
    return user if user is not None and user.pending_email else None


def address_list(*, user: User) -> QuerySet[Address]:
    """The user's address book: the default first, then the most recently used."""
    is_default = ExpressionWrapper(Q(pk=user.default_address_id), output_field=BooleanField())
    return Address.objects.filter(user=user).order_by(is_default.desc(), "-last_used_at")


def address_get(*, user: User, pk: int | None) -> Address | None:
    """One of the user's own addresses; anybody else's is None."""
    return Address.objects.filter(user=user, pk=pk).first() if pk else None


def address_suggestion(*, user: User) -> dict[str, str]:
    """What a new address form starts with: the default (else the last) address, else the
    user's name."""
    first = address_list(user=user).first()
    return first.fields if first else {"full_name": user.display_name}


def session_ref(session_key: str) -> str:
    """How pages name a session: never its key, which would sign in whoever read it."""
    return hashlib.sha256(session_key.encode()).hexdigest()[:20]


@lru_cache(maxsize=1000)
def describe_user_agent(user_agent: str) -> str:
    """ "Firefox 121 on Windows" from a User-Agent header (ua-parser's rules)."""
    from ua_parser import parse_os, parse_user_agent  # compiling its rules takes 0.3 s

    browser, system = parse_user_agent(user_agent), parse_os(user_agent)
    name = " ".join(
        part for part in [browser and browser.family, browser and browser.major] if part
    )
    name = name or "Unknown browser"
    return f"{name} on {system.family}" if system and system.family != "Other" else name


@dataclass(frozen=True)
class Device:
    """A signed-in session as the signed-in devices page shows it."""

    ref: str
    browser: str
    place: str
    signed_in_at: datetime | None
    last_activity: datetime | None
    current: bool


def device_list(*, user: User, current_session_key: str | None) -> list[Device]:
    """The account's live sessions, the current one first, then the most recently active."""
    rows = Session.objects.filter(user=user, expire_date__gt=timezone.now())
    devices = [
        Device(
            ref=session_ref(row.session_key),
            browser=describe_user_agent(row.user_agent),
            place=row.place,
            signed_in_at=row.signed_in_at,
            last_activity=row.last_activity,
            current=row.session_key == current_session_key,
        )
        for row in rows
    ]
    oldest = datetime.min.replace(tzinfo=timezone.get_current_timezone())
    return sorted(
        devices,
        key=lambda d: (d.current, d.last_activity or d.signed_in_at or oldest),
        reverse=True,
    )


def draft_get(*, user: User, form: str) -> FormDraft | None:
    """The user's unsubmitted draft of `form`, unless it is older than DRAFT_TTL_DAYS."""
    cutoff = timezone.now() - timedelta(days=DRAFT_TTL_DAYS)
    return FormDraft.objects.filter(user=user, form=form, updated_at__gte=cutoff).first()


def user_export(*, user: User, current_session_key: str | None) -> dict:
    """Everything the shop holds about the account, for "download your data"."""
    default_id = user.default_address_id
    orders = Order.objects.filter(user=user).prefetch_related("lines").order_by("created_at")
    return {
        "exported_at": timezone.now(),
        "profile": {
            "email": user.email,
            "pending_email": user.pending_email,
            "email_verified": user.email_verified,
            "display_name": user.display_name,
            "date_joined": user.date_joined,
            "last_login": user.last_login,
        },
        "preferences": {
            "products_per_page": user.products_per_page,
            "default_sort": user.default_sort,
            "newsletter": user.newsletter,
            "newsletter_opted_in_at": user.newsletter_opted_in_at,
        },
        "addresses": [
            {
                **address.fields,
                "default": address.pk == default_id,
                "last_used_at": address.last_used_at,
            }
            for address in address_list(user=user)
        ],
        "orders": [
            {
                "number": order.number,
                "placed_at": order.created_at,
                "status": order.status,
                "email": order.email,
                "total": order.total,
                "payment_reference": order.payment_reference,
                "shipped_to": {name: getattr(order, name) for name in ADDRESS_FIELDS},
                "lines": [
                    {
                        "product": line.product_name,
                        "unit_price": line.unit_price,
                        "quantity": line.quantity,
                    }
                    for line in order.lines.all()
                ],
            }
            for order in orders
        ],
        "cart": [
            {"product": line.product.name, "quantity": line.quantity}
            for line in CartLine.objects.filter(cart__user=user).select_related("product")
        ],
        "recently_viewed": recently_viewed_export(user_id=user.pk),
        "picked_for_you": [
            pick.product.name
            for pick in Pick.objects.filter(user=user).select_related("product").order_by("-score")
        ],
        "form_drafts": [
            {"form": draft.form, "data": draft.data, "updated_at": draft.updated_at}
            for draft in FormDraft.objects.filter(user=user)
        ],
        "sessions": [
            {
                "browser": device.browser,
                "place": device.place,
                "signed_in_at": device.signed_in_at,
                "last_activity": device.last_activity,
                "current": device.current,
            }
            for device in device_list(user=user, current_session_key=current_session_key)
        ],
        "failed_logins": [
            {
                "from": attempt.ip_address,
                "failures": attempt.failures_since_start,
                "last": attempt.attempt_time,
            }
            for attempt in AccessAttempt.objects.filter(username=user.email)
        ],
    }
