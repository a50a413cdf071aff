"""What every response says about how a browser may use it, beyond Django's own
SecurityMiddleware (HSTS, nosniff, Referrer-Policy, COOP), XFrameOptionsMiddleware, the
Content-Security-Policy (django-csp) and Permissions-Policy (django-permissions-policy)."""

from csp.middleware import HEADER, HEADER_REPORT_ONLY, CheckableLazyObject, CSPMiddleware
from csp.utils import build_policy
from django.conf import settings
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


class PolicyOnceCSPMiddleware(CSPMiddleware):
    """django-csp's middleware with the header built once per process: the policy lives
    in settings alone (no page uses a nonce or a per-view decorator), and building it from
    the settings dictionary on every response cost ~6% of the cheapest page. A response
    that does carry a per-view policy or a nonce still gets django-csp's own handling."""

    _PER_RESPONSE = (
        "_csp_config",
        "_csp_update",
        "_csp_replace",
        "_csp_config_ro",
        "_csp_update_ro",
        "_csp_replace_ro",
        "_csp_exempt",
        "_csp_exempt_ro",
    )

    def __init__(self, get_response):
        super().__init__(get_response)
        excluded = {
            prefix
            for name in ("CONTENT_SECURITY_POLICY", "CONTENT_SECURITY_POLICY_REPORT_ONLY")
            for prefix in (getattr(settings, name, None) or {}).get("EXCLUDE_URL_PREFIXES", ())
        }
        self.headers = (
            {}
            if excluded or settings.DEBUG
            else {
                header: policy
                for header, policy in (
                    (HEADER, build_policy()),
                    (HEADER_REPORT_ONLY, build_policy(report_only=True)),
                )
                if policy
            }
        )

    def process_response(self, request, response):
        if not self.headers or getattr(request, "_csp_nonce", None) is not None:
            return super().process_response(request, response)
        if any(hasattr(response, name) for name in self._PER_RESPONSE):
            return super().process_response(request, response)
        for header, policy in self.headers.items():
            response.headers.setdefault(header, policy)
        request.csp_nonce = CheckableLazyObject(self._csp_nonce_post_response)
        return response
