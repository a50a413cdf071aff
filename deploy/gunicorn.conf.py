"""gunicorn settings for every instance (local stack and EC2 alike).

Values can be overridden from the environment (GUNICORN_*), e.g. the local stack's ports.
"""

import multiprocessing
import os

# Loopback only: nginx on the same instance (deploy/nginx.conf, NGINX_LISTEN) takes the
# requests, reads each one whole, then passes it here.
bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8001")
# Threaded workers: the sync worker cannot keep connections alive (see keepalive below);
# a few threads per process cover the waits on PostgreSQL and Redis.
worker_class = "gthread"
workers = int(os.environ.get("GUNICORN_WORKERS", multiprocessing.cpu_count() * 2))
threads = int(os.environ.get("GUNICORN_THREADS", 2))
# Drain in-flight requests on SIGTERM; the ALB's deregistration delay (35 s) is a little longer.
graceful_timeout = 30
timeout = 30
# Longer than nginx keeps idle upstream connections (60 s), so nginx, not gunicorn, closes
# them and never sends a request on a connection gunicorn has just closed.
keepalive = 75
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
