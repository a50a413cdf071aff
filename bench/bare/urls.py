"""The bare project's only view, and a health path for the harness to wait on."""

import secrets

from django.db import connection
from django.http import HttpResponse
from django.urls import path


def bare(request):
    """The ceiling's work with nothing around it: a session read (a first visit gets a
    visitor id, so the harness can take a real session cookie) and one query."""
    visitor = request.session.setdefault("visitor", secrets.token_urlsafe(16))
    with connection.cursor() as cursor:
        cursor.execute("SELECT id FROM catalog_category ORDER BY id LIMIT 1")
        (first,) = cursor.fetchone()
    return HttpResponse(f"{first} {len(visitor)}\n", content_type="text/plain")


def healthz(request):
    return HttpResponse("ok\n", content_type="text/plain")


urlpatterns = [path("bare/", bare), path("healthz", healthz)]
