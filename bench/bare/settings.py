"""A minimal Django project: what Django itself costs on this machine, the shop aside.

Only the sessions middleware and Django's default database sessions, on the benchmark's
PostgreSQL; persistent connections as the shop keeps them (a minimal project that
reconnected on every request would measure the connect, not Django). Never deployed.
"""

import os

import environ

SECRET_KEY = os.environ["DJANGO_SECRET_KEY"]
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1"]
INSTALLED_APPS = ["django.contrib.sessions", "bench.bare"]
MIDDLEWARE = ["django.contrib.sessions.middleware.SessionMiddleware"]
ROOT_URLCONF = "bench.bare.urls"
WSGI_APPLICATION = "bench.bare.wsgi.application"
DATABASES = {
    "default": {
        **environ.Env.db_url_config(os.environ["DATABASE_URL"]),
        "CONN_MAX_AGE": 300,
        "CONN_HEALTH_CHECKS": True,
    }
}
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
