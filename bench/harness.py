"""The benchmark run: build the shop, prepare sessions, drive wrk round by round, report.

Rounds interleave the endpoints (ceiling first), so a machine that slows down for a while
slows the ceiling and the pages of that round alike, and the ratios stay fair.
"""

import json
import os
import platform
import subprocess
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from urllib.parse import urlencode

from bench import cpu, figures, profile, server, shop
from bench.figures import Run
from deploy.release.version import source_version
from deploy.servers import POSTGRES_BIN, REDIS_SERVER

WRK_SCRIPT = Path(__file__).with_name("wrk.lua")
CHECKOUT_SCRIPT = Path(__file__).with_name("checkout.lua")
# Terms from the demo vocabulary: each matches a few products, more with the large catalogue.
SEARCH_TERMS = ["tea", "brass", "oak", "mug", "pen", "linen", "walnut", "kite", "soap", "lamp"]
ROTATED_PRODUCTS = 50
CHECKOUT_SHOPPERS = 8  # one per connection (bench/checkout.lua)
CHECKOUT_ADDRESS = {
    "full_name": "Bench Shopper",
    "line1": "1 Loopback Lane",
    "city": "Localhost",
    "postcode": "12345",
    "country": "GB",
}
# Every endpoint, in the order each round runs them (the yardsticks first).
LABELS = {
    "bare": "bare Django (session + 1 query)",
    "ceiling": "ceiling (session + 1 query)",
    "home": "catalogue list (home)",
    "home_user": "catalogue list, logged in",
    "category": "category page",
    "search": "search",
    "product": "product page",
    "product_again": "product page, same one again",
    "product_user": "product page, logged in",
    "cart": "cart page (3 lines)",
    "add_to_cart": "add to cart (POST)",
    "new_visitors": "new visitors (no cookie)",
    "checkout": "checkout (add, address, review, place)",
    "login": "login (POST, PBKDF2)",
}
YARDSTICKS = ("bare", "ceiling")  # always measured, whatever --only says
PAIRED_CEILING_SECONDS = 2.0  # the ceiling run before each page in a round
ENDPOINT_KEYS = list(LABELS)
PAGES = [
    "home",
    "home_user",
    "category",
    "search",
    "product",
    "product_again",
    "product_user",
    "cart",
    "new_visitors",
]
SCALE_KEYS = ["ceiling", "home", "category", "search"]
# Other processes using more of the machine than this during a run make its figures suspect.
BUSY_MACHINE_SHARE = 0.05
PROFILE_RATE = 250  # py-spy samples per second


@dataclass
class Options:
    duration: float
    warmup: float
    rounds: int
    connections: int
    wrk_threads: int
    workers: int | None
    threads: int | None
    scale_products: int
    results: Path
    only: list[str] = field(default_factory=list)  # endpoint keys; the yardsticks always run
    profile: list[str] = field(default_factory=list)
    replica: bool = False  # a streaming read replica beside PostgreSQL


@dataclass
class Endpoint:
    """One thing wrk hammers: the requests it rotates over, as whom, and what must answer."""

    key: str
    lines: list[str]  # "PATH" or "PATH<TAB>BODY", see bench/wrk.lua
    cookie: str
    method: str = "GET"
    expect: int | tuple[int, ...] = 200
    server: str = "shop"  # or "bare": the bare yardstick's gunicorn, which logs no requests
    script: Path = WRK_SCRIPT
    env: dict[str, str] = field(default_factory=dict)  # more for the script to read
    logged: frozenset[str] = frozenset()  # the requests it makes, if not its lines'
    one_connection_per_thread: bool = False  # the script keeps per-connection state

    @property
    def label(self) -> str:
        return LABELS[self.key]

    @property
    def requests(self) -> set[str]:
        return set(self.logged) or {f"{self.method} {line.split(chr(9))[0]}" for line in self.lines}


class AddToCartCheck:
    """0 lost updates: the cart's total in PostgreSQL equals the adds gunicorn answered 302.

    wrk stops with requests in flight, so its own count of 302s is a few short of what the
    server did; the app's request log counts every add the server completed.
    """

    def __init__(self, cart: int):
        self.cart = cart
        self.results: list[dict] = []

    def before(self) -> None:
        shop.cart_empty(self.cart)

    def after(self, run: Run, round_name: str, server_log: str) -> None:
        units, lines = shop.cart_total(self.cart)
        server_adds = run.server_statuses.get("302", 0)
        self.results.append(
            {
                "round": round_name,
                "server_302": server_adds,
                "client_302": run.statuses.get("302", 0),
                "database_quantity": units,
                "database_lines": lines,
                "lost_updates": figures.lost_updates(
                    database_total=units, server_successes=server_adds
                ),
            }
        )


class CheckoutCheck:
    """0 orders lost, nothing oversold: every order gunicorn confirmed (a 302 to the order
    page after "place order") is in PostgreSQL, and the stock the run took equals the
    units those orders hold (BENCH_STOCK is never met, so no order may be refused)."""

    PLACE = "POST /checkout/review/"

    def __init__(self, emails: list[str]):
        self.emails = emails
        self.start: shop.CheckoutTotals | None = None
        self.results: list[dict] = []

    def before(self) -> None:
        self.start = shop.checkout_totals(self.emails)

    def after(self, run: Run, round_name: str, server_log: str) -> None:
        end = shop.checkout_totals(self.emails)
        # A refusal would redirect too (to the cart), and count as lost: with stock that is
        # never met and the fingerprint of the review just shown, none is legitimate.
        confirmed = figures.access_log_statuses(server_log, {self.PLACE}).get("302", 0)
        orders = end.orders - self.start.orders
        units = end.units - self.start.units
        taken = self.start.stock - end.stock
        self.results.append(
            {
                "round": round_name,
                "server_orders_confirmed": confirmed,
                "database_orders": orders,
                "database_units": units,
                "stock_taken": taken,
                "lost_orders": confirmed - orders,
                "oversold": taken - units,
            }
        )

    @property
    def errors(self) -> int:
        return sum(abs(r["lost_orders"]) + abs(r["oversold"]) for r in self.results)


@dataclass
class Phase:
    """The runs of one catalogue size: warm-up (not in the figures) and the rounds."""

    name: str
    products: int
    warmup: dict[str, Run] = field(default_factory=dict)
    rounds: list[dict[str, Run]] = field(default_factory=list)
    paired: list[dict[str, Run]] = field(default_factory=list)  # per round: page -> its ceiling

    @property
    def summaries(self) -> dict[str, figures.Summary]:
        return figures.summarise_rounds(self.rounds)

    def named_runs(self):
        for number, runs in enumerate([self.warmup, *self.rounds]):
            for key, run in runs.items():
                yield f"{self.name} {f'round {number}' if number else 'warm-up'}", key, run
        for number, ceilings in enumerate(self.paired, start=1):
            for key, run in ceilings.items():
                yield f"{self.name} round {number}", f"ceiling before {key}", run

    def failed_runs(self) -> list[str]:
        """Runs with a wrong status, a socket error or an unanswered request; and measured
        runs without a single response in time (no figures: make the runs longer)."""
        return [
            f"{round_name}: {key}: "
            + (
                f"{run.failures} bad (wrk statuses {run.statuses}, gunicorn statuses "
                f"{run.server_statuses}, socket errors {run.socket_errors}, "
                f"{run.unanswered} of {run.sent} sent never answered)"
                if run.failures
                else "no response completed within the run"
            )
            for round_name, key, run in self.named_runs()
            if run.failures or (not run.requests and "warm-up" not in round_name)
        ]

    def as_json(self) -> dict:
        return {
            "products": self.products,
            "warmup": {key: run.as_json() for key, run in self.warmup.items()},
            "rounds": [{key: run.as_json() for key, run in runs.items()} for runs in self.rounds],
            "paired_ceilings": [
                {key: run.as_json() for key, run in runs.items()} for runs in self.paired
            ],
            "median": {key: asdict(summary) for key, summary in self.summaries.items()},
        }


class Bench:
    """Drives wrk against the running shop and measures each run."""

    def __init__(self, apps: dict, pids: dict[str, int], checks: dict, options: Options):
        self.apps = apps  # "shop" and "bare": their gunicorns
        self.app = apps["shop"]
        self.checks = checks  # endpoint key -> its check of the database after each run
        self.options = options
        self.roots = {
            "gunicorn": self.app.process.pid,
            "bare gunicorn": apps["bare"].process.pid,
            **pids,
        }
        self.wrk_log = options.results / "wrk.log"

    def phase(self, name: str, endpoints: dict[str, Endpoint]) -> Phase:
        """Warm-up, then the rounds, each running every endpoint once in the same order. In
        a round, each page runs just after a short ceiling run, its ratios' base: this
        machine's speed changes within a minute, so the round's own ceiling run, up to a
        round's length earlier, would compare the page with another machine."""
        result = Phase(name, shop.active_products())
        print(f"\n== {name} phase: {result.products:,} products ==", flush=True)
        ceiling = endpoints["ceiling"]
        for number in range(self.options.rounds + 1):
            round_name = f"{name} {f'round {number}' if number else 'warm-up'}"
            seconds = self.options.duration if number else self.options.warmup
            runs, paired = {}, {}
            for endpoint in endpoints.values():
                if number and endpoint.key not in YARDSTICKS:
                    paired_seconds = min(seconds, PAIRED_CEILING_SECONDS)
                    paired[endpoint.key] = self.run(ceiling, paired_seconds, round_name)
                runs[endpoint.key] = self.run(endpoint, seconds, round_name)
            figures.with_ratios(runs, paired)
            for key, run in runs.items():
                print(progress_line(round_name, endpoints[key].label, run), flush=True)
            if number:
                result.rounds.append(runs)
                result.paired.append(paired)
            else:
                result.warmup = runs
        return result

    def run(self, endpoint: Endpoint, seconds: float, round_name: str) -> Run:
        """One wrk run; statuses from both ends, CPU and queries per request, once the
        server has answered everything; add-to-cart and checkout checked against the database.
        The bare yardstick logs no requests: its figures are wrk's alone."""
        check = self.checks.get(endpoint.key)
        if check:
            check.before()
        offset = self.app.log_size()
        shop.statements_reset()
        before = cpu.Snapshot.take(self.roots)
        output = self.wrk(endpoint, seconds)
        with self.wrk_log.open("a") as out:
            out.write(f"== {round_name}: {endpoint.key}\n{output}\n")
        run = figures.parse_wrk(output, expected_status=endpoint.expect)
        errors = run.socket_errors
        if endpoint.server == "shop":
            server_log = self.app.wait_answered(
                offset,
                endpoint.requests,
                run.sent,
                errors["read"] + errors["write"] + errors["timeout"],
            )
            run.server_statuses = figures.access_log_statuses(server_log, endpoint.requests)
            answered = sum(run.server_statuses.values())
        else:
            server_log, run.server_logged, answered = "", False, run.requests
        after = cpu.Snapshot.take(self.roots)
        run.worker_restarts = server_log.count("Autorestarting worker")
        run.cpu = cpu.usage(before, after, answered)
        run.database = shop.statements_per_request(answered)
        if check:
            check.after(run, round_name, server_log)
        return run

    def wrk(self, endpoint: Endpoint, seconds: float) -> str:
        options = self.options
        threads = options.connections if endpoint.one_connection_per_thread else options.wrk_threads
        command = [
            "wrk",
            f"-t{threads}",
            f"-c{options.connections}",
            f"-d{seconds:g}s",
            "--timeout=10s",
            "--latency",
            "-s",
            str(endpoint.script),
            self.apps[endpoint.server].url + "/",
        ]
        env = {
            **os.environ,
            "BENCH_REQUESTS": str(options.results / "requests" / f"{endpoint.key}.txt"),
            "BENCH_METHOD": endpoint.method,
            "BENCH_COOKIE": endpoint.cookie,
            "BENCH_LIB": str(WRK_SCRIPT),
            **endpoint.env,
        }
        return subprocess.run(command, env=env, capture_output=True, text=True, check=True).stdout

    def profile(self, endpoint: Endpoint) -> dict:
        """One extra run under py-spy (not in the figures: sampling costs some speed)."""
        raw = self.options.results / f"profile-{endpoint.key}.txt"
        sampler = subprocess.Popen(
            # Sample a little longer than the load lasts, to include the requests in flight.
            profile.command(self.app.process.pid, self.options.duration + 2, raw, PROFILE_RATE),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            time.sleep(0.5)  # py-spy attaches to every worker first
            run = self.run(endpoint, self.options.duration, "profile")
        finally:
            sampler.wait(timeout=self.options.duration + 30)
        summary = profile.summarise(raw.read_text())
        print(progress_line("profile", endpoint.label, run))
        print(profile.report(endpoint.label, summary, run.cpu["cpu_ms_per_request"]), flush=True)
        return {**summary, "run": run.as_json()}


def main(options: Options) -> int:
    started = time.monotonic()
    options.results.mkdir(parents=True, exist_ok=True)
    for stale in ("gunicorn.log", "wrk.log", "results.json", "chart.png"):
        (options.results / stale).unlink(missing_ok=True)
    workers, threads = server.gunicorn_shape(options.workers, options.threads)
    meta = {
        "machine": machine(),
        "version": source_version(),  # git describe: the commit, -dirty if edited
        "gunicorn": {
            "workers": workers,
            "threads": threads,
            "worker_class": "gthread",
            "bare": "the same shape, bench/bare/",
        },
        "load": {
            "tool": "wrk",
            "threads": options.wrk_threads,
            "connections": options.connections,
            "duration_s": options.duration,
            "warmup_s": options.warmup,
            "rounds": options.rounds,
        },
        "read_replica": options.replica,
        "load_average_at_start": os.getloadavg(),
    }
    print(
        f"gunicorn {workers} workers x {threads} threads; wrk -t{options.wrk_threads} "
        f"-c{options.connections}; warm-up {options.warmup:g} s, then {options.rounds} rounds "
        f"of {options.duration:g} s per endpoint; load average now {os.getloadavg()[0]:.2f}"
        + ("; with a read replica" if options.replica else "")
    )
    phases, profiles = [], {}
    with server.services(replica=options.replica) as services:
        print("Building the shop: migrate, collectstatic, seed_demo ...", flush=True)
        shop.django_setup(services.environment)
        server.bare_setup(services.environment)
        log = options.results / "gunicorn.log"
        bare_log = options.results / "gunicorn-bare.log"
        with (
            server.gunicorn(services.environment, workers, threads, log) as app,
            server.worker(services.environment, options.results / "worker.log") as worker,
            server.gunicorn(
                server.bare_environment(services.environment), workers, threads, bare_log, bare=True
            ) as bare,
        ):
            endpoints, checks = prepare(app.url, bare.url, options.results)
            pids = {**services.pids, "worker": worker.process.pid}
            bench = Bench({"shop": app, "bare": bare}, pids, checks, options)
            measured = {
                key: endpoint
                for key, endpoint in endpoints.items()
                if not options.only or key in options.only or key in YARDSTICKS
            }
            phases.append(bench.phase("main", measured))
            for key in options.profile:
                profiles[key] = bench.profile(endpoints[key])
            scale = {key: measured[key] for key in SCALE_KEYS if key in measured}
            if options.scale_products and len(scale) > len(YARDSTICKS):
                print(f"\nGrowing the catalogue to {options.scale_products:,} products ...")
                shop.catalogue_grow(options.scale_products)
                phases.append(bench.phase("scale", scale))
    meta["wall_seconds"] = round(time.monotonic() - started, 1)
    report = {"meta": meta, "phases": {p.name: p.as_json() for p in phases}}
    report["add_to_cart"] = checks["add_to_cart"].results
    report["checkout"] = checks["checkout"].results
    if profiles:
        report["profiles"] = profiles
    return conclude(report, phases, LABELS, options, checks)


def prepare(base_url: str, bare_url: str, results: Path) -> tuple[dict[str, Endpoint], dict]:
    """Shoppers and the cookies wrk replays, made over HTTP as a browser makes them."""
    paths = shop.catalogue_paths(ROTATED_PRODUCTS)
    shopper = shop.shopper_create("shopper")  # logged-in pages; a cart of exactly 3 lines
    adder = shop.shopper_create("adder")  # add-to-cart only, its cart emptied before each run
    member = shop.shopper_create("member")  # the login POST

    visitor = shop.Browser(base_url)
    visitor.get(paths["products"][0])  # the anonymous session exists from here on
    logged_in = shop.Browser(base_url).log_in(shopper)
    for product in paths["product_ids"][:3]:
        logged_in.post("/cart/add/", {"product": product, "quantity": 1})
    adding = shop.Browser(base_url).log_in(adder)
    adding.post("/cart/add/", {"product": paths["product_ids"][0], "quantity": 1})
    arriving = shop.Browser(base_url)
    arriving.get("/accounts/login/")  # a visitor on the login page, with its CSRF cookie
    bare = shop.Browser(bare_url)
    bare.get("/bare/")  # its session exists from here on
    buyers = [shop.shopper_create(f"buyer{n}") for n in range(CHECKOUT_SHOPPERS)]
    buying = [shop.Browser(base_url).log_in(buyer) for buyer in buyers]
    sessions = results / "requests" / "checkout-sessions.txt"

    anonymous, member_cookie = visitor.cookie_header, logged_in.cookie_header
    add_body = "product={}&quantity=1&csrfmiddlewaretoken=" + adding.csrf_token
    login_body = urlencode(
        {
            "username": member.email,
            "password": member.password,
            "csrfmiddlewaretoken": arriving.csrf_token,
        }
    )
    endpoints = [
        Endpoint("bare", ["/bare/"], bare.cookie_header, server="bare"),
        Endpoint("ceiling", ["/bench/ceiling/"], anonymous),
        Endpoint("home", ["/"], anonymous),
        Endpoint("home_user", ["/"], member_cookie),
        Endpoint("category", paths["categories"], anonymous),
        Endpoint("search", shop.search_paths(SEARCH_TERMS), anonymous),
        Endpoint("product", paths["products"], anonymous),
        # The same product over and over: "recently viewed" no longer changes, so the
        # session is not written; the gap to `product` is the cost of that write.
        Endpoint("product_again", paths["products"][:1], anonymous),
        Endpoint("product_user", paths["products"], member_cookie),
        Endpoint("cart", ["/cart/"], member_cookie),
        Endpoint(
            "add_to_cart",
            [f"/cart/add/\t{add_body.format(pk)}" for pk in paths["product_ids"]],
            adding.cookie_header,
            method="POST",
            expect=302,
        ),
        # No cookie: every request is a first visit, whose product view creates the session.
        Endpoint("new_visitors", paths["products"], ""),
        Endpoint(
            "checkout",
            paths["product_ids"],
            "",
            expect=(200, 302),
            script=CHECKOUT_SCRIPT,
            env={"BENCH_SESSIONS": str(sessions), "BENCH_ADDRESS": urlencode(CHECKOUT_ADDRESS)},
            logged=frozenset(
                {"POST /cart/add/", "POST /checkout/", "GET /checkout/review/", CheckoutCheck.PLACE}
            ),
            one_connection_per_thread=True,
        ),
        Endpoint(
            "login",
            [f"/accounts/login/\t{login_body}"],
            arriving.cookie_header,
            method="POST",
            expect=302,
        ),
    ]
    request_dir = results / "requests"
    request_dir.mkdir(exist_ok=True)
    for endpoint in endpoints:
        (request_dir / f"{endpoint.key}.txt").write_text("\n".join(endpoint.lines) + "\n")
    sessions.write_text("".join(f"{b.cookie_header}\t{b.csrf_token}\n" for b in buying))
    checks = {
        "add_to_cart": AddToCartCheck(shop.cart_id(adder)),
        "checkout": CheckoutCheck([buyer.email for buyer in buyers]),
    }
    return {e.key: e for e in endpoints}, checks


def progress_line(round_name: str, label: str, run: Run) -> str:
    statuses = ", ".join(f"{status} x{n}" for status, n in sorted(run.statuses.items()))
    flags = []
    if run.failures:
        flags.append(f"{run.failures} UNEXPECTED")
    if not run.requests:
        flags.append("no response within the run")
    if run.cpu["others_share"] > BUSY_MACHINE_SHARE:
        flags.append(f"other processes used {run.cpu['others_share']:.0%} of the CPU")
    return (
        f"{round_name:>15}  {label:<28} {run.req_per_s:7,.0f} req/s  p50 {run.p50_ms:6.1f} ms  "
        f"p99 {run.p99_ms:6.1f} ms  {figures.blank_if_none(run.ratio, '5.0%'):>5}  [{statuses}]"
        + (f"  (ceiling {run.ceiling_req_per_s:,.0f})" if run.ceiling_req_per_s else "")
        + ("  <-- " + "; ".join(flags) if flags else "")
    )


def conclude(report: dict, phases: list[Phase], labels: dict[str, str], options, db_checks) -> int:
    """Print the tables and the checks, write results.json and chart.png; 1 if a check failed."""
    from bench import chart

    named = {p.name: p for p in phases}
    main_phase, scale_phase = named["main"], named.get("scale")
    lost = sum(abs(add["lost_updates"]) for add in report["add_to_cart"])
    checks = figures.check_targets(
        main_phase.summaries,
        PAGES,
        lost_updates=lost if report["add_to_cart"] else None,
        checkout_errors=db_checks["checkout"].errors if report["checkout"] else None,
        scale=scale_phase.summaries if scale_phase else None,
    )
    failed_runs = [line for p in phases for line in p.failed_runs()]
    busiest = max(run.cpu["others_share"] for p in phases for _r, _k, run in p.named_runs())
    if scale_phase:
        report["scale"] = figures.scale_comparison(main_phase.summaries, scale_phase.summaries)
    report["targets"] = [asdict(check) for check in checks]
    report["failed_runs"] = failed_runs
    report["meta"]["others_cpu_share_max"] = busiest
    write(report, options.results)
    chart.draw(report, labels, options.results / "chart.png")

    for p in phases:
        print(f"\n== {p.name}: median of {len(p.rounds)} rounds, {p.products:,} products ==")
        print(figures.table(p.summaries, labels))
        for line in (figures.ceiling_vs_bare(p.summaries), figures.yardstick_tails(p.summaries)):
            if line:
                print(line)
    if scale_phase:
        print(f"\nFrom {main_phase.products:,} to {scale_phase.products:,} products:")
        for key, change in report["scale"].items():
            print(
                f"  {labels[key]}: {change['ratio_small']:.0%} -> {change['ratio_large']:.0%} "
                f"of the ceiling: keeps {change['kept']:.0%} "
                f"(raw req/s: {change['req_per_s_kept']:.0%})"
            )
    print_check(
        "Add to cart: gunicorn's 302s (adds it completed) against the cart in PostgreSQL",
        report["add_to_cart"],
        lambda add: (
            f"{add['server_302']} logged (wrk saw {add['client_302']}), cart holds "
            f"{add['database_quantity']} in {add['database_lines']} lines: "
            f"lost updates {add['lost_updates']}"
        ),
    )
    print_check(
        "Checkout: orders gunicorn confirmed against PostgreSQL's orders and stock",
        report["checkout"],
        lambda run: (
            f"{run['server_orders_confirmed']} confirmed, {run['database_orders']} orders "
            f"holding {run['database_units']} units, stock down {run['stock_taken']}: "
            f"lost {run['lost_orders']}, oversold {run['oversold']}"
        ),
    )
    print("\nTargets (medians):")
    for check in checks:
        verdict = "ok    " if check.met else "MISSED"
        print(f"  {verdict} {check.name}: {check.measured} (target {check.target})")
    responses = sum(run.requests for p in phases for _r, _k, run in p.named_runs())
    if failed_runs:
        print("\nSTATUS CHECK FAILED:\n  " + "\n  ".join(failed_runs))
    else:
        print(f"\nStatus check: all {responses:,} responses had the expected status")
    if busiest > BUSY_MACHINE_SHARE:
        print(
            f"WARNING: other processes used up to {busiest:.0%} of the CPU during a run; "
            "figures from a busy machine are not comparable (see results.json, cpu)"
        )
    print(
        f"\nWrote {options.results / 'results.json'} and {options.results / 'chart.png'} "
        f"in {report['meta']['wall_seconds']:.0f} s"
    )
    return 1 if failed_runs or lost or db_checks["checkout"].errors else 0


def print_check(title: str, runs: list[dict], describe) -> None:
    """A database check's verdict per run (warm-up included), under its title."""
    if runs:
        print(f"\n{title}")
    for run in runs:
        print(f"  {run['round']:>14}: {describe(run)}")


def write(report: dict, results: Path) -> None:
    (results / "results.json").write_text(json.dumps(report, indent=2) + "\n")


def machine() -> dict:
    """What the figures were measured on, for docs/performance.md."""
    cpuinfo = Path("/proc/cpuinfo").read_text().splitlines()
    model = next((line.split(":", 1)[1].strip() for line in cpuinfo if "model name" in line), "")
    memory_kb = int(Path("/proc/meminfo").read_text().split()[1])
    os_release = dict(
        line.split("=", 1)
        for line in Path("/etc/os-release").read_text().splitlines()
        if "=" in line
    )
    import django
    import gunicorn

    return {
        "nproc": len(os.sched_getaffinity(0)),
        "cpu_model": model,
        "memory_gib": round(memory_kb / 2**20, 1),
        "os": os_release.get("PRETTY_NAME", "").strip('"'),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "django": django.get_version(),
        "gunicorn": gunicorn.__version__,
        "postgresql": _version([str(POSTGRES_BIN / "postgres"), "--version"]),
        "redis": _version([REDIS_SERVER, "--version"]),
        "wrk": _version(["wrk", "-v"]),
    }


def _version(command: list[str]) -> str:
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    return (done.stdout or done.stderr).splitlines()[0].strip()
