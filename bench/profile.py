"""--profile: where an endpoint's Python time goes inside gunicorn, sampled under load.

py-spy samples, in every worker, the thread that holds the GIL: Python at work, not
waiting on PostgreSQL or Redis (bench/cpu.py counts the database's own CPU). Each sample
is charged to the nearest frame, from the leaf up, that belongs to a known part of the
stack, so the shares add up to 100% and read as "what to make cheaper". Shares only: on a
busy machine the GIL holder is sometimes descheduled, which stretches the samples' time
but not where they fall, so CPU per request comes from /proc instead.
"""

import re
import sys
from collections import Counter
from pathlib import Path

PY_SPY = Path(sys.executable).with_name("py-spy")  # bench/requirements.txt installs it

# (part, pattern on "function (file:line)"): the first match from the leaf upward wins.
PARTS = [
    ("password hashing", r"hashlib|/auth/hashers\.py"),
    ("psycopg2: send query, read rows", r"django/db/backends/"),
    ("ORM: build SQL, make objects", r"django/db/models/"),
    ("Redis client", r"/redis/|/django_redis/"),
    ("sessions and signing", r"django/contrib/sessions/|django/core/signing\.py|webapp/sessions"),
    ("templates", r"django/template/|django/templatetags/|django/forms/"),
    ("static file URLs (manifest)", r"django/contrib/staticfiles/|whitenoise/"),
    ("URL resolving and reversing", r"django/urls/"),
    ("shop code", r"\((accounts|catalog|cart|webapp)/"),
    (
        "middleware and request handling",
        r"django/(core/handlers|middleware|http|utils/deprecation)",
    ),
    ("auth, messages, axes", r"django/contrib/(auth|messages)/|/axes/"),
    ("gunicorn (HTTP parsing, writing)", r"gunicorn/"),
]
_COMPILED = [(name, re.compile(pattern)) for name, pattern in PARTS]
_IN_REQUEST = "handle_request (gunicorn/workers/gthread.py"
_FRAME = re.compile(r"^(?P<function>.+?) \((?P<file>[^:()]+)(?::\d+)?\)$")
_PROJECT = re.compile(r"^(accounts|catalog|cart|webapp)/")


def command(master_pid: int, seconds: float, output: Path, rate: int) -> list[str]:
    """py-spy sampling gunicorn and all its workers; raw collapsed stacks to `output`."""
    return (
        [
            str(PY_SPY),
            "record",
            "--pid",
            str(master_pid),
            "--subprocesses",
            "--nonblocking",
            "--gil",
        ]
        + ["--rate", str(rate), "--duration", str(max(1, round(seconds)))]
        + ["--format", "raw", "--output", str(output)]
    )


def _stacks(raw: str):
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        if stack and count.isdigit():
            yield stack.split(";"), int(count)


def summarise(raw: str, top: int = 12) -> dict:
    """Shares of in-request samples by part of the stack, and the shop's costliest
    functions (inclusive)."""
    parts, functions = Counter(), Counter()
    total = 0
    for frames, count in _stacks(raw):
        if not any(_IN_REQUEST in frame for frame in frames):
            continue  # the worker's own loop, between requests
        total += count
        part = next(
            (name for frame in reversed(frames) for name, rx in _COMPILED if rx.search(frame)),
            "other (stdlib, libraries)",
        )
        parts[part] += count
        # Once per sample each (recursion), middleware left out: it wraps every request.
        functions.update(
            {
                f"{found['function']} ({found['file']})": count
                for found in map(_FRAME.match, frames)
                if found
                and _PROJECT.match(found["file"])
                and not found["function"].endswith("__call__")
            }
        )
    return {
        "samples": total,
        "parts": {name: round(n / total, 3) for name, n in parts.most_common()} if total else {},
        "shop_functions": {name: round(n / total, 3) for name, n in functions.most_common(top)}
        if total
        else {},
    }


def report(label: str, summary: dict, cpu_ms_per_request: dict) -> str:
    costs = ", ".join(f"{tree} {ms} ms" for tree, ms in cpu_ms_per_request.items())
    lines = [f"{label}: {summary['samples']:,} samples in requests; CPU per request: {costs}"]
    lines += [f"  {share:6.1%}  {name}" for name, share in summary["parts"].items()]
    if summary["shop_functions"]:
        lines.append("  shop functions (inclusive):")
        lines += [f"  {share:6.1%}  {name}" for name, share in summary["shop_functions"].items()]
    return "\n".join(lines)
