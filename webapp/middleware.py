"""Response headers that tie a request to the instance and the load balancer's trace."""

import uuid

from django.conf import settings


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
