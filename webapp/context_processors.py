from functools import cache

from django.conf import settings
from django.urls import reverse


@cache
def _site_urls() -> dict[str, str]:
    names = [
        "accounts:login",
        "accounts:sign_up",
        "accounts:preferences",
        "accounts:logout",
        "accounts:account",
        "accounts:addresses",
        "accounts:devices",
        "accounts:email_change",
        "accounts:password_change",
        "accounts:export",
        "accounts:delete",
        "cart:detail",
        "cart:add",
        "cart:checkout",
        "cart:orders",
    ]
    return {name.replace(":", "_"): reverse(name) for name in names}


def site_urls(request):
    """The links every page's header and forms use, reversed once per process: reversing
    them on every request was a tenth of a page's CPU (make bench's profile)."""
    return {"site_urls": _site_urls(), "stripe_enabled": settings.STRIPE_ENABLED}
