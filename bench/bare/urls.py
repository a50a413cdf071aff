"""The bare project's only view, and a health path for the harness to wait on."""

import secrets

from django.http import HttpResponse
from django.urls import path

from bench.bare.models import Category


def bare(request):
    """The ceiling's work (webapp.views.benchmark_ceiling) with nothing around it: a
    session read (a first visit gets a visitor id, so the harness can take a real session
    cookie) and the same ORM query."""
    visitor = request.session.setdefault("visitor", secrets.token_urlsafe(16))
    first = Category.objects.values_list("pk", flat=True).first()
    return HttpResponse(f"{first} {len(visitor)}\n", content_type="text/plain")


def healthz(request):
    return HttpResponse("ok\n", content_type="text/plain")


urlpatterns = [path("bare/", bare), path("healthz", healthz)]
