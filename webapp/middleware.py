"""Response headers that tie a request to the instance and the load balancer's trace, and
the check that a request came through CloudFront."""

import hmac
import re
import uuid

from django.conf import settings
from django.http import HttpResponseForbidden

# The ALB's trace header: `Root=1-<8 hex: epoch seconds>-<24 hex>`, perhaps with Self=,
# Parent=, Sampled= or custom fields beside it. Anything else is not the ALB's.
TRACE_ID = re.compile(
    r"(?:[A-Za-z]{1,32}=[0-9A-Za-z.-]{1,64};){0,7}Root=1-[0-9a-f]{8}-[0-9a-f]{24}"
    r"(?:;[A-Za-z]{1,32}=[0-9A-Za-z.-]{1,64}){0,7}"
)


class RequestIdMiddleware:
    """Tag every response with the serving instance and a request id.

    The request id is the ALB's X-Amzn-Trace-Id when present, so one id follows a request
    from the load balancer's access log to gunicorn's (which logs the X-Request-Id header).
    Only a proxy in front (DJANGO_PROXY_COUNT) sets that header: a client that reaches an
    instance directly gets an id of ours whatever it sends, and a header that is not in the
    ALB's format (a line break for the logs, a megabyte) is never taken.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.id = trace_id(request) or uuid.uuid4().hex
        response = self.get_response(request)
        response["X-Request-Id"] = request.id
        response["X-Served-By"] = settings.INSTANCE_ID
        return response


def trace_id(request) -> str | None:
    """The trusted proxy's X-Amzn-Trace-Id, if there is such a proxy and the header is its."""
    trace = request.headers.get("X-Amzn-Trace-Id", "")
    if settings.PROXY_COUNT and TRACE_ID.fullmatch(trace):
        return trace
    return None


class OriginVerifyMiddleware:
    """With DJANGO_ORIGIN_SECRET set, answer 403 to any request without CloudFront's
    X-Origin-Verify header (the ALB refuses those already; this holds if it ever did not).

    Only such requests have the X-Forwarded-For shape that `webapp.clientip` relies on.
    The health paths are answered before this, for the load balancer sends no header.
    """

    def __init__(self, get_response):
        self.get_response = get_response
        self.secret = settings.ORIGIN_SECRET.encode()

    def __call__(self, request):
        if self.secret and not hmac.compare_digest(
            request.headers.get("X-Origin-Verify", "").encode(), self.secret
        ):
            return HttpResponseForbidden("Forbidden\n", content_type="text/plain")
        return self.get_response(request)
