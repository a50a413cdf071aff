"""WSGI entry point of the bare yardstick, for gunicorn with deploy/gunicorn.conf.py."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.bare.settings")

application = get_wsgi_application()
