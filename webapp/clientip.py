"""The client's address as CloudFront saw it, for the login throttle (django-axes)."""

from ipaddress import ip_address

from django.conf import settings


def client_ip(request) -> str:
    """Each proxy appends the address it saw to X-Forwarded-For, so the entry
    `PROXY_COUNT` places from the right is the client's; anything left of it could be
    forged by the client.

    In production (DJANGO_PROXY_COUNT=2) CloudFront appends the viewer's address and the
    ALB appends CloudFront's. The ALB is reachable only from CloudFront and forwards only
    requests that carry our distribution's origin header (as does the app, see
    `OriginVerifyMiddleware`), so every request arrives with exactly that shape: whatever
    a client writes into the header stays on the left and never moves the entry counted.
    Anything that is not an address (no proxy in front) counts as the peer's address.
    """
    if settings.PROXY_COUNT:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
        if len(forwarded) >= settings.PROXY_COUNT:
            candidate = forwarded[-settings.PROXY_COUNT].strip()
            try:
                return str(ip_address(candidate))
            except ValueError:
                pass
    return request.META.get("REMOTE_ADDR", "")
