from django.conf import settings
from django.contrib import admin
from django.core.files.storage import FileSystemStorage, default_storage
from django.urls import include, path, re_path, register_converter
from django.views.static import serve

from webapp import csp, views
from webapp.converters import IdConverter

register_converter(IdConverter, "id")

handler500 = "webapp.views.server_error"

urlpatterns = [
    # The catalogue first: its pages are most of the traffic, and Django tries the patterns
    # in order (resolving "/category/x/" behind the others cost a listing 5% of its CPU).
    path("", include("catalog.urls")),
    path("admin/", admin.site.urls),
    # Browsers ask for /favicon.ico on pages that name no icon (the admin's).
    path("favicon.ico", views.favicon),
    # The Content-Security-Policy's report-uri (settings.CONTENT_SECURITY_POLICY).
    path("csp-report/", csp.csp_report),
    path("accounts/", include("accounts.urls")),
    path("", include("payments.urls")),
    path("", include("cart.urls")),
]

if settings.BENCHMARK:
    urlpatterns += [path("bench/ceiling/", views.benchmark_ceiling)]

if settings.DEBUG and isinstance(default_storage, FileSystemStorage):
    # `make run` keeps media on local disk; production serves them from S3 (CloudFront).
    urlpatterns += [
        re_path(
            rf"^{settings.MEDIA_URL.lstrip('/')}(?P<path>.*)$",
            serve,
            {"document_root": settings.MEDIA_ROOT},
        )
    ]
