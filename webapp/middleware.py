"""Response headers that tie a request to the instance and the load balancer's trace, and
the check that a request came through CloudFront."""

import hmac
import uuid

from django.conf import settings
from django.http import HttpResponseForbidden


class RequestIdMiddleware:
    """Tag every response with the serving instance and a request id.

    The request id is the ALB's X-Amzn-Trace-Id when present, so one id follows a request
    from the load balancer's access log to gunicorn's (which logs the X-Request-Id header).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.id = request.headers.get("X-Amzn-Trace-Id") or uuid.uuid4().hex
        response = self.get_response(request)
        response["X-Request-Id"] = request.id
        response["X-Served-By"] = settings.INSTANCE_ID
        return response


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
