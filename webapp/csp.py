"""Where browsers report Content-Security-Policy violations (the policy's report-uri).

A report is one log line (CloudWatch keeps the instances' logs): which directive blocked
what, on which page. Anyone can post here, so a flood must cost little and bury nothing:
bodies over REPORT_MAX_BYTES are refused unread, nothing is written to the database, and
each process logs at most REPORTS_PER_MINUTE reports a minute; the rest are counted, and
the next line logged says how many were dropped.
"""

import json
import logging
import threading
import time

from django.http import HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

logger = logging.getLogger("webapp.csp")

REPORT_MAX_BYTES = 8 * 1024
REPORTS_PER_MINUTE = 20
# The fields worth a line; a browser sends more (and an attacker anything).
FIELDS = ("document-uri", "violated-directive", "effective-directive", "blocked-uri")


class LogBudget:
    """At most `limit` lines per `seconds` in this process; counts what it turns away."""

    def __init__(self, limit: int, seconds: float, clock=time.monotonic):
        self.limit = limit
        self.seconds = seconds
        self.clock = clock
        self._lock = threading.Lock()
        self._window_start = -seconds
        self._used = 0
        self.dropped = 0

    def take(self) -> int | None:
        """None when over budget; else how many were dropped since the last line."""
        with self._lock:
            now = self.clock()
            if now - self._window_start >= self.seconds:
                self._window_start, self._used = now, 0
            if self._used >= self.limit:
                self.dropped += 1
                return None
            self._used += 1
            dropped, self.dropped = self.dropped, 0
            return dropped


budget = LogBudget(REPORTS_PER_MINUTE, 60.0)


def _summary(body: bytes) -> dict[str, str]:
    """The report's main fields, from either format browsers send: report-uri's
    {"csp-report": {...}} or the Reporting API's [{"type": "csp-violation", "body": {...}}]."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return {}
    if isinstance(data, list) and data and isinstance(data[0], dict):
        data = data[0].get("body", {})
    elif isinstance(data, dict):
        data = data.get("csp-report", {})
    if not isinstance(data, dict):
        return {}
    camel = {"document-uri": "documentURL", "effective-directive": "effectiveDirective"}
    camel |= {"blocked-uri": "blockedURL", "violated-directive": "effectiveDirective"}
    return {field: str(data.get(field, data.get(camel[field], "")))[:300] for field in FIELDS}


@csrf_exempt  # browsers post reports without a token, by design
@require_POST
def csp_report(request):
    if int(request.META.get("CONTENT_LENGTH") or 0) > REPORT_MAX_BYTES:
        return HttpResponse(status=413)
    dropped = budget.take()
    if dropped is not None:
        report = _summary(request.body)
        logger.warning(
            "CSP violation: %s (%d reports dropped before this one)",
            " ".join(f"{key}={value!r}" for key, value in report.items()) or "unreadable",
            dropped,
        )
    return HttpResponse(status=204)
