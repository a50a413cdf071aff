"""What every response says about how a browser may use it, beyond Django's own
SecurityMiddleware (HSTS, nosniff, Referrer-Policy, COOP), XFrameOptionsMiddleware, the
Content-Security-Policy (django-csp) and Permissions-Policy (django-permissions-policy)."""

from django.http import HttpResponseNotAllowed

# No page of the shop takes anything else: TRACE, OPTIONS, PUT, DELETE, ... get a 405
# before any view (or the CSRF check, which would call a PUT a 403) sees them.
ALLOWED_METHODS = ("GET", "HEAD", "POST")


class ShopSecurityMiddleware:
    """405 for the methods no page takes; Cross-Origin-Resource-Policy on every response:
    no other site may embed the shop's pages or answers (static files and media come from
    S3 through CloudFront, with headers of their own)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.method in ALLOWED_METHODS:
            response = self.get_response(request)
        else:
            response = HttpResponseNotAllowed(ALLOWED_METHODS)
        response.setdefault("Cross-Origin-Resource-Policy", "same-origin")
        return response
