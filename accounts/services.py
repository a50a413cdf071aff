"""Writes for accounts: sign-up, email confirmation, preferences and the address book."""

from django.contrib.auth.hashers import make_password
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

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


def user_sign_up(*, request, email: str, password: str, display_name: str = "") -> None:
    """Start a sign-up without revealing whether the address is registered.

    A new (or still unconfirmed) address gets an inactive account and a confirmation link;
    a registered one gets an email saying so, with links to log in or reset the password.
    The visitor sees the same page either way, and both paths hash a password, so the
    response time does not tell them apart either. Either email is queued in the
    transaction that reads (or writes) the account, and sent by a worker.
    """
    email = normalize_email(email)
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
