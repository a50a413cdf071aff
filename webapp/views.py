"""Error views that stay friendly when the shop's own services are down."""

import sys

from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, HttpResponsePermanentRedirect, HttpResponseServerError
from django.template.loader import render_to_string
from django.templatetags.static import static

from webapp.context_processors import site_urls

# Seconds a client should wait before retrying while the database is unreachable.
RETRY_AFTER_SECONDS = 5


def server_error(request):
    """Answer 503 with Retry-After when the database is unreachable, 500 otherwise.

    Rendered without the request context on purpose: context processors would query the
    very database that just failed (only the header's links, which need no query, are
    passed).
    """
    error = sys.exc_info()[1]
    if isinstance(error, OperationalError | InterfaceError):
        return HttpResponse(
            render_to_string("503.html", site_urls(request)),
            status=503,
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )
    return HttpResponseServerError(render_to_string("500.html", site_urls(request)))


def favicon(request):
    """Browsers ask for /favicon.ico on pages that name no icon (the admin's)."""
    return HttpResponsePermanentRedirect(static("img/favicon.svg"))


def benchmark_ceiling(request):
    """The benchmark's yardstick (mounted only with DJANGO_BENCHMARK=true): the same
    middleware and settings as every page, a session read and one query, no template."""
    from catalog.models import VISITOR_SESSION_KEY, Category

    visitor = request.session.get(VISITOR_SESSION_KEY, "")
    first = Category.objects.values_list("pk", flat=True).first()
    return HttpResponse(f"{first} {len(visitor)}\n", content_type="text/plain")
