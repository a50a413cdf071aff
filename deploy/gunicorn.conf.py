"""gunicorn settings for every instance (local stack and EC2 alike).

Values can be overridden from the environment (GUNICORN_*), e.g. the local stack's ports.
"""

import gc
import multiprocessing
import os

# Loopback only: nginx on the same instance (deploy/nginx.conf, NGINX_LISTEN) takes the
# requests, reads each one whole, then passes it here.
bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8001")
# Threaded workers: a few threads per process cover the waits on PostgreSQL and Redis.
worker_class = "gthread"
workers = int(os.environ.get("GUNICORN_WORKERS", multiprocessing.cpu_count() * 2))
threads = int(os.environ.get("GUNICORN_THREADS", 2))
# A worker holds no more connections than it has threads, and none is kept alive after its
# response: each request is accepted by a worker with a thread free. Kept alive, a
# connection stays with the worker that accepted it, and its next request waits for that
# worker's threads even while other workers idle: make bench measured p99 up to 4-11 x p50
# that way, 2.0-2.6 x without (docs/performance.md). nginx, on the same host, opens a
# loopback connection per request instead (deploy/nginx.conf).
worker_connections = threads
keepalive = 0
# Drain in-flight requests on SIGTERM; the ALB's deregistration delay (35 s) is a little longer.
graceful_timeout = 30
timeout = 30
# Whose X-Forwarded-Proto gunicorn believes (e.g. the VPC's range, where the ALB is): by
# default nobody's. Django decides the scheme itself from DJANGO_PROXY_COUNT.
forwarded_allow_ips = os.environ.get("GUNICORN_FORWARDED_ALLOW_IPS", "")
# Recycle workers now and then (a guard against slow leaks), rarely enough not to show in
# latency: at ~300 requests/s per worker, about once an hour.
max_requests = 1_000_000
max_requests_jitter = 100_000
# No access log: the app writes one JSON line per request itself (webapp/logs.py), with the
# request id, instance, user id and duration, so every line is queryable in Logs Insights.
accesslog = None
errorlog = "-"


def post_worker_init(worker):
    """The app loaded (its URLconf too, which imports every view), its objects leave the
    garbage collector's generations (gc.freeze): a full collection then scans only what the
    worker made since, not the whole of Django, and stalls the worker for less."""
    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018 (imports the views)
    gc.collect()
    gc.freeze()
