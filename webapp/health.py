"""Health endpoints for the load balancer (/healthz) and for the instance itself (/readyz).

/healthz is shallow on purpose: the ALB checks it, and a check that touched the database
would, during a database failover, mark every instance unhealthy and make the Auto Scaling
group replace the whole fleet. /readyz checks the shared services and is what an instance
waits for before it reports itself ready.
"""

from django.core.cache import cache
from django.db import connection
from django.http import HttpResponse


def database_problem() -> str | None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as error:
        return f"database: {type(error).__name__}"
    return None


def cache_problem() -> str | None:
    try:
        if hasattr(cache, "client"):  # django-redis hides errors from cache.get; ping directly
            from django_redis import get_redis_connection

            get_redis_connection("default").ping()
        else:
            cache.set("readyz", "ok", 5)
    except Exception as error:
        return f"cache: {type(error).__name__}"
    return None


def readiness_problems() -> list[str]:
    return [problem for problem in (database_problem(), cache_problem()) if problem]


class HealthCheckMiddleware:
    """Answer the health paths before host validation, HTTPS redirects and sessions."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path == "/healthz":
            return HttpResponse("ok\n", content_type="text/plain")
        if request.path == "/readyz":
            problems = readiness_problems()
            if problems:
                body = "".join(f"{problem}\n" for problem in problems)
                return HttpResponse(body, status=503, content_type="text/plain")
            return HttpResponse("ready\n", content_type="text/plain")
        return self.get_response(request)
