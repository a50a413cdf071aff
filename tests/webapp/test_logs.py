"""Structured logs: what gunicorn writes is one JSON object per line, with the request id
the response carries, the instance, the signed-in user's id (never an email) and timing."""

import io
import json
import logging
import time

import requests
from django.conf import settings
from django.http import HttpResponse
from django.test import RequestFactory
from pythonjsonlogger.json import JsonFormatter

from tests.accounts.helpers import PASSWORD
from tests.servers import server_user
from webapp.logs import RequestContextFilter, RequestLogMiddleware


def _lines(server) -> list[dict]:
    lines = server.log.read_text().splitlines()
    return [json.loads(line) for line in lines if line.startswith("{")]


def test_every_request_is_one_json_line_that_names_the_user_by_id(app_server):
    user = server_user("ann@example.com", PASSWORD)
    session = requests.Session()
    page = session.get(f"{app_server.url}/accounts/login/", timeout=10)
    response = session.post(
        f"{app_server.url}/accounts/login/",
        data={
            "username": "ann@example.com",
            "password": PASSWORD,
            "csrfmiddlewaretoken": session.cookies["csrftoken"],
        },
        headers={"Referer": page.url},
        allow_redirects=False,
        timeout=10,
    )
    assert response.status_code == 302
    home = session.get(f"{app_server.url}/", timeout=10)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # the worker flushes its line after the response
        by_id = {line.get("request_id"): line for line in _lines(app_server)}
        if home.headers["X-Request-Id"] in by_id:
            break
        time.sleep(0.05)
    line = by_id[home.headers["X-Request-Id"]]
    assert line["logger"] == "webapp.request" and line["level"] == "INFO"
    assert (line["method"], line["path"], line["status"]) == ("GET", "/", 200)
    assert line["instance"] == "test-1" and line["user_id"] == str(user.pk)
    assert line["duration_ms"] > 0 and line["time"].endswith("+00:00")
    login = by_id[response.headers["X-Request-Id"]]
    assert (login["method"], login["status"]) == ("POST", 302)
    text = app_server.log.read_text()
    assert "ann@example.com" not in text
    # Health checks are answered before the request log: no line for them.
    requests.get(f"{app_server.url}/healthz", timeout=5)
    assert not [x for x in _lines(app_server) if x.get("path") == "/healthz"]


def test_the_cost_of_the_request_log_per_request():
    """Printed, not asserted: the middleware and one formatted line, against the bare view."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    options = {k: v for k, v in settings.LOGGING["formatters"]["json"].items() if k != "()"}
    handler.setFormatter(JsonFormatter(**options))
    handler.addFilter(RequestContextFilter())
    logger = logging.getLogger("webapp.request")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        request = RequestFactory().get("/products/")
        request.id = "Root=1-67891233-abcdef012345678912345678"

        def view(_request):
            return HttpResponse("ok")

        logged = RequestLogMiddleware(view)
        rounds = 20_000
        timings = {}
        for name, call in (("bare", view), ("logged", logged)):
            started = time.perf_counter()
            for _ in range(rounds):
                call(request)
            timings[name] = (time.perf_counter() - started) / rounds * 1e6
    finally:
        logger.removeHandler(handler)
        logger.propagate = True
    assert stream.getvalue().count("\n") == rounds
    cost = timings["logged"] - timings["bare"]
    print(f"\nrequest log: {cost:.1f} µs per request ({timings['bare']:.1f} µs bare view)")
