"""Settings for every environment, read from the environment (12-factor).

With DJANGO_DEBUG=true every variable is optional: unset means the embedded default
(SQLite, local-memory cache, database sessions, static files served by whitenoise, media
on local disk), which is what `make run` uses. With debug off (production, the default) the
process refuses to start, with a one-line ImproperlyConfigured naming the variable, when
state would otherwise silently stay on the instance (no DATABASE_URL, no REDIS_URL) or the
configuration contradicts itself. Production sets the variables listed in
deploy/production.env.example; the README's configuration table documents each one.
"""

from pathlib import Path
from urllib.parse import urlsplit

import botocore.config
import environ
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
env = environ.Env()

DEBUG = env.bool("DJANGO_DEBUG", default=False)
# A process that only builds a release (collectstatic) needs no database or Redis and says
# so; every other process with debug off must have both.
BUILD_ONLY = env.bool("DJANGO_BUILD_ONLY", default=False)


def required(name: str, why: str) -> str:
    """The variable's value; with debug off, its absence stops the process at start."""
    value = env.str(name, default="")
    if not value and not DEBUG and not BUILD_ONLY:
        raise ImproperlyConfigured(f"Set {name}: {why} (or DJANGO_DEBUG=true for local work).")
    return value


SECRET_KEY = required("DJANGO_SECRET_KEY", "it signs sessions, cookies and links")
if not SECRET_KEY:
    SECRET_KEY = "local-development-only-not-a-secret"  # noqa: S105

ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
# Mounts /bench/ceiling/, the yardstick of `make bench` (docs/performance.md); never in production.
BENCHMARK = env.bool("DJANGO_BENCHMARK", default=False)
# Names the instance in the X-Served-By header and the logs (EC2 instance id in production).
INSTANCE_ID = env.str("INSTANCE_ID", default="local")

INSTALLED_APPS = [
    "accounts",
    "axes",
    "csp",
    "catalog",
    "cart",
    "payments",
    "notifications",
    "jobs",
    "webapp",
    "django_tasks",
    "django_tasks_db",
    # The admin site behind a second factor (webapp.admin.StaffAdminSite, django-otp).
    "webapp.apps.StaffAdminConfig",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
]

MIDDLEWARE = [
    "webapp.middleware.RequestIdMiddleware",
    # Before SecurityMiddleware and CommonMiddleware: the load balancer's health checks send
    # the instance's private IP as Host and plain HTTP, and must get neither a 400 nor a redirect.
    "webapp.health.HealthCheckMiddleware",
    "webapp.middleware.OriginVerifyMiddleware",
    "webapp.logs.RequestLogMiddleware",
    # Before anything reads a session or checks CSRF: a method no page takes is a 405.
    "webapp.security.ShopSecurityMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "webapp.security.PolicyOnceCSPMiddleware",
    "django_permissions_policy.PermissionsPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    # Django's, with the signed-in user from the shared cache (no query per request).
    "accounts.middleware.CachedAuthenticationMiddleware",
    # request.user.is_verified(): this session passed the second factor (the admin needs it).
    "django_otp.middleware.OTPMiddleware",
    "cart.middleware.VisitorCartMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes requires: turns a locked-out login into its 429 page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "webapp.urls"
WSGI_APPLICATION = "webapp.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "webapp.context_processors.site_urls",
                "catalog.context_processors.categories",
                "cart.context_processors.cart",
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------------------
DATABASE_URL = required("DATABASE_URL", "without it every instance would keep its own SQLite")
DATABASES = {"default": env.db_url_config(DATABASE_URL or f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
# Persistent connections, checked before reuse so a database restart or failover costs one
# reconnect instead of an error.
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DJANGO_CONN_MAX_AGE", default=300)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Fail fast while the database is unreachable: pages answer 503 instead of hanging.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("connect_timeout", 3)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache and sessions -------------------------------------------------------------------
REDIS_URL = required("REDIS_URL", "without it every process would keep its own cache")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "webshop",
            "OPTIONS": {
                # A cache outage degrades to cache misses; the database stays the truth.
                "IGNORE_EXCEPTIONS": True,
                "SOCKET_CONNECT_TIMEOUT": 1,
                "SOCKET_TIMEOUT": 1,
                # After a failure, skip Redis for a few seconds; log the outage once per
                # interval with a count, instead of a traceback per cache call.
                "REDIS_CLIENT_CLASS": "webapp.cache.BreakerRedis",
            },
        }
    }
    DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = False  # webapp.cache logs outages instead
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# Sessions are written to the database and read through the cache (Redis; the process's
# memory for `make run`): a Redis restart or failover empties the cache but logs nobody
# out, and the cart lives in PostgreSQL anyway. Their rows name the account, for the
# signed-in devices page (webapp/sessions.py).
SESSION_ENGINE = "webapp.sessions"
# Process memory for data that never changes under its key: catalogue reads keyed by the
# catalogue generation, whose current number lives in the shared `default` cache. A page
# then costs one Redis round trip for the generation instead of one per cached fragment.
CACHES["local"] = {
    "BACKEND": "webapp.cache.ObjectMemoryCache",
    "LOCATION": "generations",
    "OPTIONS": {"MAX_ENTRIES": 5000},
}
SESSION_COOKIE_AGE = 60 * 60 * 24 * 30

# --- Read replica ---------------------------------------------------------------------------
# Reads that may be a little stale go to a read replica; a visitor who wrote reads the
# primary until the replica has replayed that write (the rules: webapp/replicas/).
DATABASE_REPLICA_URL = env.str("DATABASE_REPLICA_URL", default="")
# Seconds behind the primary beyond which the replica is skipped.
DATABASE_REPLICA_MAX_LAG = env.float("DATABASE_REPLICA_MAX_LAG", default=5.0)
if DATABASE_REPLICA_URL:
    replica = env.db_url_config(DATABASE_REPLICA_URL)
    if {replica["ENGINE"], DATABASES["default"]["ENGINE"]} != {"django.db.backends.postgresql"}:
        raise ImproperlyConfigured(
            "DATABASE_REPLICA_URL needs PostgreSQL in it and in DATABASE_URL "
            "(reads are routed by WAL position)."
        )
    if not REDIS_URL:
        raise ImproperlyConfigured(
            "DATABASE_REPLICA_URL needs REDIS_URL: the catalogue's cache generations must be "
            "shared to be safe with a replica."
        )
    if DATABASE_REPLICA_MAX_LAG <= 0:
        raise ImproperlyConfigured("DATABASE_REPLICA_MAX_LAG must be a positive number of seconds.")
    DATABASES["replica"] = {
        **replica,
        "ENGINE": "webapp.replicas",  # PostgreSQL's, falling back to the primary on failure
        "CONN_MAX_AGE": DATABASES["default"]["CONN_MAX_AGE"],
        # No health check before reuse: the position check and the fallback cover it.
        "CONN_HEALTH_CHECKS": False,
        # A replica that does not answer is skipped quickly (2 s is libpq's minimum).
        "OPTIONS": {**replica.get("OPTIONS", {}), "connect_timeout": 2},
        "DISABLE_SERVER_SIDE_CURSORS": True,  # every query through the fallback cursor
        "TEST": {"MIRROR": "default"},
    }
    DATABASE_ROUTERS = ["webapp.replicas.ReplicaRouter"]
    MIDDLEWARE.insert(
        MIDDLEWARE.index("django.contrib.sessions.middleware.SessionMiddleware") + 1,
        "webapp.replicas.ReplicaMiddleware",
    )

# --- Static and media files ---------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = env.path("DJANGO_STATIC_ROOT", default=BASE_DIR / "staticfiles")
MEDIA_URL = "media/"
MEDIA_ROOT = env.path("DJANGO_MEDIA_ROOT", default=BASE_DIR / "media")

AWS_STORAGE_BUCKET_NAME = env.str("AWS_STORAGE_BUCKET_NAME", default="")
if env.str("AWS_MEDIA_BUCKET_NAME", default="") and not AWS_STORAGE_BUCKET_NAME:
    raise ImproperlyConfigured(
        "Set AWS_STORAGE_BUCKET_NAME: AWS_MEDIA_BUCKET_NAME is used only beside the static bucket."
    )
if AWS_STORAGE_BUCKET_NAME:
    endpoint_url = env.str("AWS_S3_ENDPOINT_URL", default=None)
    s3_options = {
        "custom_domain": env.str("AWS_S3_CUSTOM_DOMAIN", default=None),
        "endpoint_url": endpoint_url,
        "region_name": env.str("AWS_S3_REGION_NAME", default=None),
        # Only a local S3-compatible server needs public-read; on AWS the buckets stay private
        # and CloudFront reads them through Origin Access Control.
        "default_acl": env.str("AWS_DEFAULT_ACL", default=None),
        "addressing_style": "path" if endpoint_url else None,
        "querystring_auth": False,
    }
    STORAGES = {
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                **s3_options,
                "bucket_name": env.str("AWS_MEDIA_BUCKET_NAME", default=AWS_STORAGE_BUCKET_NAME),
                "location": "media",
                "file_overwrite": False,
                "object_parameters": {"CacheControl": "public, max-age=86400"},
            },
        },
        "staticfiles": {
            "BACKEND": "storages.backends.s3.S3ManifestStaticStorage",
            "OPTIONS": {
                **s3_options,
                "bucket_name": AWS_STORAGE_BUCKET_NAME,
                "location": "static",
                # Names carry a content hash, so a file never changes under its URL.
                "object_parameters": {"CacheControl": "public, max-age=31536000, immutable"},
            },
        },
    }
    # S3 (through CloudFront) serves the static files: whitenoise would only look up every
    # request's path in its table of files and find nothing.
    MIDDLEWARE.remove("whitenoise.middleware.WhiteNoiseMiddleware")
    # Where pages load static files and media from, for the Content-Security-Policy.
    if s3_options["custom_domain"]:
        ASSET_ORIGINS = [f"https://{s3_options['custom_domain']}"]
    elif endpoint_url:
        ASSET_ORIGINS = ["{0.scheme}://{0.netloc}".format(urlsplit(endpoint_url))]
    else:
        ASSET_ORIGINS = sorted(
            {f"https://{o['OPTIONS']['bucket_name']}.s3.amazonaws.com" for o in STORAGES.values()}
        )
else:
    STORAGES = {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    }
    ASSET_ORIGINS = []

# --- Payments (Stripe) ------------------------------------------------------------------------
# All three keys, or none: with none the checkout keeps its test payment (`make run`) and
# says no money moves; with them every order is paid by card (payments/services.py). In
# production the keys come from Secrets Manager (deploy/bootstrap.sh).
STRIPE_KEYS = {
    name: env.str(name, default="")
    for name in ["STRIPE_SECRET_KEY", "STRIPE_PUBLISHABLE_KEY", "STRIPE_WEBHOOK_SECRET"]
}
STRIPE_ENABLED = any(STRIPE_KEYS.values())
for name, value in STRIPE_KEYS.items():
    if STRIPE_ENABLED and not value:
        raise ImproperlyConfigured(f"Set {name}: the other Stripe keys are set, and need it.")
STRIPE_SECRET_KEY, STRIPE_PUBLISHABLE_KEY, STRIPE_WEBHOOK_SECRET = STRIPE_KEYS.values()
# Unset: Stripe itself. Set: the origin of a fake Stripe (localstripe) serving the API and
# its stand-in Stripe.js, for the tests and the local stack.
STRIPE_API_BASE = env.str("STRIPE_API_BASE", default="").rstrip("/")
if STRIPE_API_BASE and not STRIPE_ENABLED:
    raise ImproperlyConfigured("Set STRIPE_SECRET_KEY: STRIPE_API_BASE is used only with Stripe.")
if STRIPE_API_BASE and urlsplit(STRIPE_API_BASE).scheme not in {"http", "https"}:
    raise ImproperlyConfigured(
        "STRIPE_API_BASE must be an http(s) origin, e.g. http://127.0.0.1:8420."
    )
# Minutes an order waits for its payment before the payments sweep cancels it.
PAYMENT_TIMEOUT_MINUTES = env.int("SHOP_PAYMENT_TIMEOUT_MINUTES", default=30)
if PAYMENT_TIMEOUT_MINUTES < 1:
    raise ImproperlyConfigured("SHOP_PAYMENT_TIMEOUT_MINUTES must be at least 1.")
# Where the payment page may load Stripe.js from, frame and talk to (the CSP below).
if STRIPE_API_BASE:
    _stripe = "{0.scheme}://{0.netloc}".format(urlsplit(STRIPE_API_BASE))
    STRIPE_ORIGINS = {"script": [_stripe], "frame": [_stripe], "connect": [_stripe]}
elif STRIPE_ENABLED:
    STRIPE_ORIGINS = {
        "script": ["https://js.stripe.com"],
        "frame": ["https://js.stripe.com", "https://hooks.stripe.com"],
        "connect": ["https://api.stripe.com"],
    }
else:
    STRIPE_ORIGINS = {"script": [], "frame": [], "connect": []}
STRIPE_JS_URL = (
    f"{STRIPE_API_BASE}/js.stripe.com/v3/" if STRIPE_API_BASE else "https://js.stripe.com/v3/"
)

# --- Security -----------------------------------------------------------------------------
# How many proxies append to X-Forwarded-For in front of the app (CloudFront + ALB: 2).
# Forwarded headers are trusted only when there are proxies to set them: by default none.
PROXY_COUNT = env.int("DJANGO_PROXY_COUNT", default=0)
if PROXY_COUNT < 0:
    raise ImproperlyConfigured("Set DJANGO_PROXY_COUNT to 0 or more (proxies in front).")
HTTPS = env.bool("DJANGO_HTTPS", default=not DEBUG)
if PROXY_COUNT:
    # TLS ends at the load balancer, which says so in X-Forwarded-Proto.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = HTTPS
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_HSTS_SECONDS = 60 * 60 * 24 * 365 if HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
# Preloading is a promise to browsers that is slow to undo: only on purpose.
SECURE_HSTS_PRELOAD = env.bool("DJANGO_HSTS_PRELOAD", default=False)
if SECURE_HSTS_PRELOAD and not HTTPS:
    raise ImproperlyConfigured("Set DJANGO_HTTPS=true: DJANGO_HSTS_PRELOAD needs HSTS.")
# Django's deployment check asks for preload; here it is a decision, not an oversight.
SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD else ["security.W021"]
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
# Over HTTPS the cookies carry the __Host- prefix: browsers then accept them only Secure,
# for the whole site and from this host itself (no subdomain can set or shadow them).
# Plain HTTP (tests, the local stack, make bench) keeps the plain names, which browsers
# would refuse with the prefix.
SESSION_COOKIE_NAME = "__Host-sessionid" if HTTPS else "sessionid"
CSRF_COOKIE_NAME = "__Host-csrftoken" if HTTPS else "csrftoken"
X_FRAME_OPTIONS = "DENY"

# Content-Security-Policy (django-csp), the one place the policy lives: nothing by default;
# scripts, styles, images and fonts from the shop itself and where its static files and media
# are; forms post only here; no frames of the shop anywhere, no plugins, no <base>. No page
# has inline script or style, so none is allowed. With Stripe on, Stripe.js is allowed from
# Stripe (STRIPE_ORIGINS), with its frames and its API; frames only then.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [NONE],
        "script-src": [SELF, *ASSET_ORIGINS, *STRIPE_ORIGINS["script"]],
        "style-src": [SELF, *ASSET_ORIGINS],
        "img-src": [SELF, *ASSET_ORIGINS],
        "font-src": [SELF, *ASSET_ORIGINS],
        "connect-src": [SELF, *STRIPE_ORIGINS["connect"]],
        **({"frame-src": STRIPE_ORIGINS["frame"]} if STRIPE_ENABLED else {}),
        "form-action": [SELF],
        "frame-ancestors": [NONE],
        "base-uri": [NONE],
        "object-src": [NONE],
        "report-uri": "/csp-report/",
    },
}
# Browser features no page uses, off for the shop and anything it could ever embed.
PERMISSIONS_POLICY = {
    feature: []
    for feature in [
        "accelerometer",
        "autoplay",
        "browsing-topics",
        "camera",
        "display-capture",
        "geolocation",
        "gyroscope",
        "magnetometer",
        "microphone",
        "midi",
        "payment",
        "publickey-credentials-get",
        "screen-wake-lock",
        "serial",
        "usb",
        "xr-spatial-tracking",
    ]
}

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "catalog:home"
LOGOUT_REDIRECT_URL = "catalog:home"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Login throttling (django-axes): failures are counted in PostgreSQL, so the limit holds
# across every instance and survives a Redis restart. Counting per address *and* account
# stops password guessing without letting anyone lock a stranger out from elsewhere.
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = 0.25  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_USERNAME_FORM_FIELD = "username"  # what Django's login form posts, not USERNAME_FIELD
# Counted as login reads the address: lower-cased, so no letter case is a fresh counter.
AXES_USERNAME_CALLABLE = "accounts.lockout.lockout_username"
AXES_RESET_ON_SUCCESS = True
AXES_DISABLE_ACCESS_LOG = True
AXES_HTTP_RESPONSE_CODE = 429
AXES_VERBOSE = False
AXES_LOCKOUT_TEMPLATE = "accounts/locked_out.html"
AXES_CLIENT_IP_CALLABLE = "webapp.clientip.client_ip"
# The X-Origin-Verify value CloudFront adds and the ALB requires: set, the app refuses
# requests without it too (webapp.middleware.OriginVerifyMiddleware).
ORIGIN_SECRET = env.str("DJANGO_ORIGIN_SECRET", default="")

# The admin's second factor (django-otp): the issuer phone apps show beside the account.
OTP_TOTP_ISSUER = "Corner Shop"

# Account emails (sign-up confirmations, "you already have an account" notices, password
# resets) an hour, per address and per client address, counted in PostgreSQL across every
# instance (accounts.services.email_quota_take): a mail bomb stops after a few.
ACCOUNT_EMAILS_PER_ADDRESS = env.int("DJANGO_ACCOUNT_EMAILS_PER_ADDRESS", default=3)
ACCOUNT_EMAILS_PER_CLIENT = env.int("DJANGO_ACCOUNT_EMAILS_PER_CLIENT", default=20)

# --- Email ----------------------------------------------------------------------------------
# Amazon SES through the instance role in production; EMAIL_URL otherwise (console by default).
DEFAULT_FROM_EMAIL = env.str("DJANGO_DEFAULT_FROM_EMAIL", default="Corner Shop <shop@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# Seconds for the connect and for each exchange with the mail server; a worker's claim on
# an email lasts three of them (notifications/services.py).
EMAIL_TIMEOUT = env.int("DJANGO_EMAIL_TIMEOUT", default=10)
AWS_SES_REGION_NAME = env.str("AWS_SES_REGION_NAME", default="")
if AWS_SES_REGION_NAME:
    EMAIL_BACKEND = "django_ses.SESBackend"
else:
    vars().update(env.email_url("EMAIL_URL", default="consolemail://"))
# botocore's endpoint for the region (AWS_ENDPOINT_URL_SES points it at a local server).
AWS_SES_REGION_ENDPOINT_URL = None
# An SES call must end inside the worker's claim on the email (3 x EMAIL_TIMEOUT), or a
# second worker may send it again. One attempt costs at most a connect and a wait for the
# answer, 2 x EMAIL_TIMEOUT, which leaves one EMAIL_TIMEOUT for recording the outcome; so
# botocore gets one attempt (total_max_attempts=1), and retrying is the queue's job (with
# its backoff). Its defaults (60 s read timeout, up to 5 attempts) could take five minutes.
AWS_SES_CONFIG = botocore.config.Config(
    connect_timeout=EMAIL_TIMEOUT,
    read_timeout=EMAIL_TIMEOUT,
    retries={"total_max_attempts": 1, "mode": "standard"},
)
# No rate-limit lookup before the first send (django-ses's GetSendQuota call): it would
# be a second call inside the claim, and the instance role may only send. SES throttling
# is retried by the queue with backoff.
AWS_SES_AUTO_THROTTLE = None
# Delivery attempts before an email becomes a dead letter (backoff 1 s doubling to 10 min:
# about two hours of retries).
MAIL_MAX_ATTEMPTS = env.int("MAIL_MAX_ATTEMPTS", default=20)
for name, value in [
    ("DJANGO_EMAIL_TIMEOUT", EMAIL_TIMEOUT),
    ("MAIL_MAX_ATTEMPTS", MAIL_MAX_ATTEMPTS),
]:
    if value < 1:
        raise ImproperlyConfigured(f"{name} must be at least 1, not {value}.")

# --- Background work (the worker tier: `manage.py run_worker`) ------------------------------
# django-tasks' database backend: enqueueing inserts the task's row on the caller's
# connection, inside its transaction (no on_commit), so a task commits or rolls back with
# the change that caused it.
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}
# Periods of the scheduled jobs in seconds, e.g. "purge_carts=3600,clear_sessions=600"
# (jobs/schedule.py has the jobs and their daily default).
JOB_PERIODS = {}
for item in env.list("JOB_PERIODS", default=[]):
    job, _, seconds = item.partition("=")
    if not seconds.isdigit():
        raise ImproperlyConfigured(f"JOB_PERIODS: {item!r} is not job=seconds.")
    JOB_PERIODS[job.strip()] = int(seconds)
# The environment (the stack's EnvironmentName) whose queue metrics the worker tier
# publishes to CloudWatch every minute; unset (`make run`, tests), nothing calls AWS.
WEBSHOP_ENVIRONMENT = env.str("WEBSHOP_ENVIRONMENT", default="")
if WEBSHOP_ENVIRONMENT and not env.str("AWS_DEFAULT_REGION", default=""):
    raise ImproperlyConfigured(
        "WEBSHOP_ENVIRONMENT needs AWS_DEFAULT_REGION: the region its metrics go to."
    )

# --- Internationalisation -----------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Logging ------------------------------------------------------------------------------
# One JSON object per line on stdout (webapp/logs.py): time, level, logger, message, the
# instance, the request id and user id during a request, and any `extra` fields.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_context": {"()": "webapp.logs.RequestContextFilter"}},
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(levelname)s %(name)s %(message)s",
            "rename_fields": {"levelname": "level", "name": "logger"},
            "timestamp": "time",
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json",
            "filters": ["request_context"],
        }
    },
    "root": {"handlers": ["console"], "level": env.str("DJANGO_LOG_LEVEL", default="INFO")},
    # The stripe library logs two lines per API call at INFO; its failures reach our logs
    # through payments.services, which says what they mean for the order.
    "loggers": {"stripe": {"level": "WARNING"}},
}
