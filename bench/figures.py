"""The numbers of `make bench`: what one wrk run measured, medians over rounds, targets.

Pure functions on text and numbers, no servers, so `make test` covers exactly the code
that turns load-generator output and access logs into the figures we publish.
"""

import json
import re
import statistics
from collections import Counter
from dataclasses import asdict, dataclass, field

# The performance targets (issue 18, docs/performance.md): ratio of an endpoint's req/s to
# the ceiling's in the same round.
RATIO_TARGETS = {
    "home": 0.90,
    "category": 0.90,
    "search": 0.90,
    "product": 0.60,
    "home_user": 0.50,
    "product_user": 0.50,
    "cart": 0.50,
    "add_to_cart": 0.55,
    # Set after measuring (docs/performance.md): a first visit writes its session (an INSERT
    # and a Redis SET), as every product view did before soft state; a checkout cycle is
    # four requests, two of them transactions that write several rows.
    "new_visitors": 0.35,
    "checkout": 0.25,
}
# The ceiling (the shop's middleware and settings around the bare view's work) against the
# bare yardstick (Django with sessions only): what the shared path costs every page.
CEILING_VS_BARE_TARGET = 0.85
# A short tail: in every round, each page's p99 at most this many times its p50.
TAIL_TARGET = 3.0
# Listings with the large catalogue: within 10% of their ratio with the small one.
SCALE_TARGET = 0.90
SCALE_ENDPOINTS = ("home", "category", "search")

_RESULT_LINE = re.compile(r"^BENCH-RESULT (\{.*\})$", re.MULTILINE)
_NON_2XX_3XX = re.compile(r"^\s*Non-2xx or 3xx responses: (\d+)$", re.MULTILINE)


@dataclass
class Run:
    """One wrk run against one endpoint, with the statuses the client and server saw."""

    req_per_s: float
    p50_ms: float
    p99_ms: float
    requests: int  # responses wrk received within the run
    sent: int  # requests wrk sent, including those still in flight when it stopped
    expected_status: int | tuple[int, ...]  # a flow of steps (checkout) expects several
    statuses: dict[str, int]
    socket_errors: dict[str, int]
    non_2xx_3xx: int
    server_statuses: dict[str, int] = field(default_factory=dict)
    worker_restarts: int = 0  # gunicorn's max_requests recycling, a cause of p99 spikes
    cpu: dict = field(default_factory=dict)  # bench/cpu.py's usage()
    database: dict = field(default_factory=dict)  # bench/shop.py's statements_per_request()
    ratio: float | None = None
    cpu_ratio: float | None = None
    ceiling_req_per_s: float | None = None  # of the ceiling run its ratios compare with
    bare_ratio: float | None = None  # req/s as a share of the bare yardstick's
    server_logged: bool = True  # False for the bare yardstick, which writes no request log

    @property
    def expected(self) -> set[str]:
        wanted = self.expected_status
        return {str(status) for status in (wanted if isinstance(wanted, tuple) else (wanted,))}

    @property
    def tail(self) -> float | None:
        """p99 over p50: what the tail adds to the typical request."""
        return self.p99_ms / self.p50_ms if self.p50_ms else None

    @property
    def cpu_ms(self) -> float | None:
        """CPU the machine spent per request: app, database, cache and load generator."""
        per_tree = self.cpu.get("cpu_ms_per_request", {})
        return sum(per_tree.values()) if per_tree and None not in per_tree.values() else None

    @property
    def unexpected_statuses(self) -> int:
        """Responses wrk received with any status but the expected ones."""
        return self.requests - sum(n for s, n in self.statuses.items() if s in self.expected)

    @property
    def server_unexpected(self) -> int:
        """The same from gunicorn's side, which also counts requests wrk abandoned at the end."""
        return sum(n for s, n in self.server_statuses.items() if s not in self.expected)

    @property
    def unanswered(self) -> int:
        """Requests wrk sent that gunicorn never logged (lost with a closed connection)."""
        if not self.server_logged:
            return 0
        return max(0, self.sent - sum(self.server_statuses.values()))

    @property
    def failures(self) -> int:
        return (
            self.unexpected_statuses
            + self.server_unexpected
            + sum(self.socket_errors.values())
            + self.unanswered
        )

    def as_json(self) -> dict:
        return {
            **asdict(self),
            "unexpected_statuses": self.unexpected_statuses,
            "server_unexpected_statuses": self.server_unexpected,
            "unanswered": self.unanswered,
        }


def parse_wrk(output: str, *, expected_status: int) -> Run:
    """Read wrk's output: the JSON line bench/wrk.lua prints, checked against wrk's own text."""
    found = _RESULT_LINE.search(output)
    if found is None:
        raise ValueError(f"no BENCH-RESULT line in wrk's output:\n{output[-2000:]}")
    result = json.loads(found.group(1))
    errors = result["errors"]
    non_2xx_3xx = _NON_2XX_3XX.search(output)
    run = Run(
        req_per_s=result["requests"] / (result["duration_us"] / 1e6),
        p50_ms=result["p50_us"] / 1000,
        p99_ms=result["p99_us"] / 1000,
        requests=result["requests"],
        sent=result["sent"],
        expected_status=expected_status,
        statuses=result["statuses"],
        socket_errors={kind: errors[kind] for kind in ("connect", "read", "write", "timeout")},
        non_2xx_3xx=int(non_2xx_3xx.group(1)) if non_2xx_3xx else 0,
    )
    if run.non_2xx_3xx != errors["status"] or sum(run.statuses.values()) != run.requests:
        raise ValueError(f"wrk's counts disagree with the script's: {found.group(0)}")
    return run


def access_log_statuses(log: str, requests: set[str]) -> dict[str, int]:
    """Statuses the app logged for these requests ("METHOD /path?query"), by status: its
    one JSON line per request (webapp/logs.py), which names the path without the query."""
    wanted = {request.split("?", 1)[0] for request in requests}
    counts = Counter()
    for line in log.splitlines():
        if not line.startswith("{"):
            continue
        record = json.loads(line)
        if record.get("message") == "request" and f"{record['method']} {record['path']}" in wanted:
            counts[str(record["status"])] += 1
    return dict(sorted(counts.items()))


def with_ratios(
    round_runs: dict[str, Run],
    paired: dict[str, Run] | None = None,
    ceiling: str = "ceiling",
    bare: str = "bare",
) -> dict[str, Run]:
    """Each endpoint's req/s as a share of the ceiling's: of the ceiling run `paired` with
    it (measured just before it), else of the round's; and of the bare yardstick's, when it
    ran. Also the ceiling share predicted from CPU per request, which other jobs on the
    machine barely move (with every core busy, req/s is cores / CPU per request)."""
    bare_base = round_runs[bare].req_per_s if bare in round_runs else None
    for key, run in round_runs.items():
        base = (paired or {}).get(key, round_runs[ceiling])
        run.ceiling_req_per_s = base.req_per_s
        run.ratio = run.req_per_s / base.req_per_s if base.req_per_s else None
        run.cpu_ratio = base.cpu_ms / run.cpu_ms if base.cpu_ms and run.cpu_ms else None
        run.bare_ratio = run.req_per_s / bare_base if bare_base else None
    return round_runs


@dataclass
class Summary:
    """An endpoint over the rounds: medians, and everything that went wrong in any round."""

    req_per_s: float
    p50_ms: float
    p99_ms: float
    ratio: float | None
    cpu_ratio: float | None
    bare_ratio: float | None
    tail_max: float | None  # the largest p99 / p50 of the rounds
    requests: int
    unexpected_statuses: int
    server_unexpected_statuses: int
    socket_errors: int
    ratio_range: tuple[float, float] | None
    cpu_ms_per_request: dict[str, float]
    others_cpu_share_max: float
    queries_per_request: float | None
    db_ms_per_request: float | None
    replica_share: float | None  # of the queries, those the read replica ran


def summarise(runs: list[Run]) -> Summary:
    """Median of the rounds for each figure (robust to one noisy round); totals for errors."""
    ratios = [run.ratio for run in runs if run.ratio is not None]
    trees = runs[0].cpu.get("cpu_ms_per_request", {})
    return Summary(
        req_per_s=statistics.median(run.req_per_s for run in runs),
        p50_ms=statistics.median(run.p50_ms for run in runs),
        p99_ms=statistics.median(run.p99_ms for run in runs),
        ratio=statistics.median(ratios) if ratios else None,
        cpu_ratio=_median([run.cpu_ratio for run in runs]),
        bare_ratio=_median([run.bare_ratio for run in runs]),
        tail_max=max((run.tail for run in runs if run.tail is not None), default=None),
        requests=sum(run.requests for run in runs),
        unexpected_statuses=sum(run.unexpected_statuses for run in runs),
        server_unexpected_statuses=sum(run.server_unexpected for run in runs),
        socket_errors=sum(sum(run.socket_errors.values()) for run in runs),
        ratio_range=(min(ratios), max(ratios)) if ratios else None,
        cpu_ms_per_request={
            tree: statistics.median(run.cpu["cpu_ms_per_request"][tree] or 0 for run in runs)
            for tree in trees
        },
        others_cpu_share_max=max((run.cpu.get("others_share", 0.0) for run in runs), default=0.0),
        queries_per_request=_median([run.database.get("queries_per_request") for run in runs]),
        db_ms_per_request=_median([run.database.get("db_ms_per_request") for run in runs]),
        replica_share=_median([run.database.get("replica_share") for run in runs]),
    )


def _median(values: list[float | None]) -> float | None:
    known = [value for value in values if value is not None]
    return statistics.median(known) if known else None


def summarise_rounds(rounds: list[dict[str, Run]]) -> dict[str, Summary]:
    return {key: summarise([runs[key] for runs in rounds]) for key in rounds[0]}


@dataclass
class Check:
    """One performance target, with the measured value and whether it holds."""

    name: str
    measured: str
    target: str
    met: bool


def check_targets(
    main: dict[str, Summary],
    pages: list[str],
    *,
    lost_updates: int | None,
    checkout_errors: int | None = None,
    scale: dict[str, Summary] | None = None,
) -> list[Check]:
    """The performance targets, on the medians. `pages` are the endpoints the tail target
    applies to; `checkout_errors` counts orders lost or stock oversold in the checkout runs."""
    checks = [
        Check(
            f"{key} ratio",
            f"{main[key].ratio:.0%}"
            + (
                f" (from CPU per request: {main[key].cpu_ratio:.0%})" if main[key].cpu_ratio else ""
            ),
            f">= {target:.0%}",
            main[key].ratio >= target,
        )
        for key, target in RATIO_TARGETS.items()
        if key in main
    ]
    if "bare" in main and main["ceiling"].bare_ratio is not None:
        share = main["ceiling"].bare_ratio
        checks.append(
            Check(
                "ceiling vs bare",
                f"{share:.0%}",
                f">= {CEILING_VS_BARE_TARGET:.0%}",
                share >= CEILING_VS_BARE_TARGET,
            )
        )
    checks += [
        Check(
            f"{key} p99 / p50",
            f"{main[key].tail_max:.1f} in its worst round",
            f"<= {TAIL_TARGET:g}",
            main[key].tail_max <= TAIL_TARGET,
        )
        for key in pages
        if key in main and main[key].tail_max is not None
    ]
    if lost_updates is not None:
        checks.append(Check("add_to_cart lost updates", str(lost_updates), "0", lost_updates == 0))
    if checkout_errors is not None:
        checks.append(
            Check(
                "checkout orders lost or oversold", str(checkout_errors), "0", checkout_errors == 0
            )
        )
    for key in SCALE_ENDPOINTS:
        if scale and key in scale:
            kept = scale_kept(main[key], scale[key])
            checks.append(
                Check(
                    f"{key} at scale", f"{kept:.0%}", f">= {SCALE_TARGET:.0%}", kept >= SCALE_TARGET
                )
            )
    return checks


def scale_kept(small: Summary, large: Summary) -> float:
    """How much of its small-catalogue throughput an endpoint keeps with the large one.

    Compared through the ratio to the ceiling, measured in each phase, so that a machine
    that slowed down between the phases does not pass for a slower page.
    """
    return large.ratio / small.ratio


def scale_comparison(small: dict[str, Summary], large: dict[str, Summary]) -> dict[str, dict]:
    """Per endpoint measured in both phases: its ratio in each, and what it keeps."""
    return {
        key: {
            "ratio_small": small[key].ratio,
            "ratio_large": large[key].ratio,
            "kept": scale_kept(small[key], large[key]),
            "req_per_s_kept": large[key].req_per_s / small[key].req_per_s,
        }
        for key in large
        if key in small and key != "ceiling"
    }


def lost_updates(*, database_total: int, server_successes: int) -> int:
    """Adds the server confirmed (302) that the cart does not hold; negative means extra."""
    return server_successes - database_total


def table(summaries: dict[str, Summary], labels: dict[str, str]) -> str:
    """The summary table, as printed and pasted into docs/performance.md (Markdown)."""
    rows = [
        "| endpoint | req/s | p50 ms | p99 ms | ratio to ceiling | target | ratio to bare "
        "| bad statuses | CPU ratio | app CPU ms/req | queries/req | DB ms/req "
        "| queries primary:replica | others' CPU |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for key, s in summaries.items():
        target = RATIO_TARGETS.get(key)
        bad = s.unexpected_statuses + s.server_unexpected_statuses + s.socket_errors
        app_cpu = s.cpu_ms_per_request.get("gunicorn" if key != "bare" else "bare gunicorn")
        rows.append(
            f"| {labels.get(key, key)} | {s.req_per_s:,.0f} | {s.p50_ms:.1f} | {s.p99_ms:.1f} "
            f"| {s.ratio:.0%} | {f'>= {target:.0%}' if target else ''} "
            f"| {blank_if_none(s.bare_ratio, '.0%')} | {bad} "
            f"| {blank_if_none(s.cpu_ratio, '.0%')} | {blank_if_none(app_cpu, '.1f')} "
            f"| {blank_if_none(s.queries_per_request, '.1f')} "
            f"| {blank_if_none(s.db_ms_per_request, '.2f')} | {node_shares(s.replica_share)} "
            f"| {s.others_cpu_share_max:.0%} |"
        )
    return "\n".join(rows)


def ceiling_vs_bare(summaries: dict[str, Summary]) -> str | None:
    """The line under the table: what the shop's shared path leaves of bare Django."""
    if "bare" not in summaries or summaries["ceiling"].bare_ratio is None:
        return None
    return (
        f"ceiling vs bare: {summaries['ceiling'].bare_ratio:.0%} "
        f"({summaries['ceiling'].req_per_s:,.0f} against {summaries['bare'].req_per_s:,.0f} "
        f"req/s; target >= {CEILING_VS_BARE_TARGET:.0%})"
    )


def yardstick_tails(summaries: dict[str, Summary]) -> str | None:
    """The tail target's reference: what the machine adds to views that do almost nothing.
    When the yardsticks' own p99 / p50 passes the target, a page's tail in that round says
    more about the machine than about the page."""
    tails = [
        f"{key} {summaries[key].tail_max:.1f}"
        for key in ("bare", "ceiling")
        if key in summaries and summaries[key].tail_max is not None
    ]
    if not tails:
        return None
    return f"yardsticks' own p99 / p50 in their worst round (no target): {', '.join(tails)}"


def node_shares(replica_share: float | None) -> str:
    """Each node's share of the queries, "primary:replica" in percent."""
    if replica_share is None:
        return ""
    replica = round(replica_share * 100)
    return f"{100 - replica}:{replica}"


def blank_if_none(value: float | None, spec: str) -> str:
    """A figure that may be missing (no request completed, nothing measured) as text."""
    return "" if value is None else format(value, spec)
