"""The client's address as the load balancer saw it."""

import ipaddress

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


def masked(address: str) -> str:
    """An address made approximate enough to recognise a place, not a household: the /24
    network of an IPv4 address ("203.0.113.x"), the /48 of an IPv6 one; '' if unparsable."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return ""
    if ip.version == 4:
        return ".".join(str(ip).split(".")[:3] + ["x"])
    return str(ipaddress.ip_network(f"{ip}/48", strict=False))
