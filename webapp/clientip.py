"""The client's address as the load balancer saw it."""

from django.conf import settings


def client_ip(request) -> str:
    """Each trusted proxy appends the address it saw to X-Forwarded-For, so the entry
    `PROXY_COUNT` places from the right is the client's; anything left of it could be
    forged by the client."""
    if settings.PROXY_COUNT:
        forwarded = [a.strip() for a in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        if len(forwarded) >= settings.PROXY_COUNT and forwarded[-settings.PROXY_COUNT]:
            return forwarded[-settings.PROXY_COUNT]
    return request.META.get("REMOTE_ADDR", "")
