"""Structured logs: one JSON object per line, for CloudWatch Logs Insights.

Every record carries the instance, and while a request is being served its request id and
the signed-in user's id (never an email). `RequestLogMiddleware` writes one line per
request with its method, path, status and duration. The README lists useful queries.

It sits on every page's path, so it does little: a context variable set and reset, one
perf_counter pair, one log record; the user id is read from the session only when the
request already loaded it (a page that never looked at the session gets no user id rather
than an extra Redis or database read).
"""

from __future__ import annotations

import logging
import time
from contextvars import ContextVar

from django.conf import settings
from django.contrib.auth import SESSION_KEY

_current_request: ContextVar = ContextVar("webshop_request", default=None)
request_log = logging.getLogger("webapp.request")


def user_id(request) -> str | None:
    session = getattr(request, "session", None)
    if session is None or not session.accessed:
        return None
    return session.get(SESSION_KEY)


class RequestContextFilter(logging.Filter):
    """Adds instance, request_id and user_id to every record (None outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        request = _current_request.get()
        record.instance = settings.INSTANCE_ID
        record.request_id = getattr(request, "id", None)
        record.user_id = user_id(request) if request is not None else None
        return True


class RequestLogMiddleware:
    """One line per request, after the response is ready (health checks are answered
    before this middleware and are not logged)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = _current_request.set(request)
        started = time.perf_counter()
        try:
            response = self.get_response(request)
            request_log.info(
                "request",
                extra={
                    "method": request.method,
                    "path": request.path,
                    "status": response.status_code,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                },
            )
            return response
        finally:
            _current_request.reset(token)
