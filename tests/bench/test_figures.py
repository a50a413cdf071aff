"""The arithmetic of `make bench` on canned wrk output and access logs: no server, no load."""

import pytest

from bench import figures, profile
from bench.figures import Run

# wrk 4.1 with bench/wrk.lua: an add-to-cart run in which two adds were refused.
WRK_ADD_TO_CART = """\
Running 5s test @ http://127.0.0.1:57951/
  2 threads and 8 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    19.60ms    9.84ms  67.82ms   74.80%
    Req/Sec   207.77     68.65   396.00     72.50%
  Latency Distribution
     50%   17.50ms
     75%   24.47ms
     90%   32.31ms
     99%   52.58ms
  2000 requests in 5.00s, 467.44KB read
  Non-2xx or 3xx responses: 2
Requests/sec:    400.00
Transfer/sec:    232.12KB
BENCH-RESULT {"duration_us": 5000000, "requests": 2000, "sent": 2008, "p50_us": 17498, \
"p99_us": 52577, "max_us": 67824, "statuses": {"302": 1998, "409": 2}, "errors": \
{"connect": 0, "read": 0, "write": 0, "status": 2, "timeout": 0}}
"""

ACCESS_LOG = """\
[2026-11-23 22:26:49 +0000] [31631] [INFO] Booting worker with pid: 31631
{"level": "INFO", "logger": "webapp.request", "message": "request", "method": "POST", \
"path": "/cart/add/", "status": 302, "duration_ms": 12.1}
{"level": "INFO", "logger": "webapp.request", "message": "request", "method": "POST", \
"path": "/cart/add/", "status": 409, "duration_ms": 9.0}
{"level": "INFO", "logger": "webapp.request", "message": "request", "method": "GET", \
"path": "/cart/", "status": 200, "duration_ms": 11.3}
{"level": "WARNING", "logger": "django.request", "message": "Conflict: /cart/add/"}
{"level": "INFO", "logger": "webapp.request", "message": "request", "method": "POST", \
"path": "/cart/add/", "status": 302, "duration_ms": 4.2}
{"level": "INFO", "logger": "webapp.request", "message": "request", "method": "GET", \
"path": "/", "status": 200, "duration_ms": 20.4}
"""


def make_run(req_per_s: float, p99_ms: float = 10.0, **fields) -> Run:
    values = {
        "p50_ms": p99_ms / 2,
        "p99_ms": p99_ms,
        "requests": int(req_per_s * 5),
        "sent": int(req_per_s * 5) + 8,
        "expected_status": 200,
        "statuses": {"200": int(req_per_s * 5)},
        "socket_errors": {"connect": 0, "read": 0, "write": 0, "timeout": 0},
        "non_2xx_3xx": 0,
        "server_statuses": {"200": int(req_per_s * 5) + 8},
        "cpu": {"cpu_ms_per_request": {"gunicorn": 12.0, "postgresql": 1.0}, "others_share": 0.01},
        "database": {"queries_per_request": 4.0, "db_ms_per_request": 1.5, "replica_share": 0.0},
        **fields,
    }
    return Run(req_per_s=req_per_s, **values)


def test_wrk_output_gives_throughput_latency_and_every_status():
    run = figures.parse_wrk(WRK_ADD_TO_CART, expected_status=302)
    assert run.req_per_s == pytest.approx(400.0)
    assert (run.p50_ms, run.p99_ms) == (pytest.approx(17.498), pytest.approx(52.577))
    assert (run.requests, run.sent, run.non_2xx_3xx) == (2000, 2008, 2)
    assert run.statuses == {"302": 1998, "409": 2}
    assert run.unexpected_statuses == 2


def test_wrk_output_whose_counts_disagree_is_refused():
    tampered = WRK_ADD_TO_CART.replace("Non-2xx or 3xx responses: 2", "Non-2xx or 3xx responses: 5")
    with pytest.raises(ValueError, match="disagree"):
        figures.parse_wrk(tampered, expected_status=302)
    with pytest.raises(ValueError, match="no BENCH-RESULT"):
        figures.parse_wrk("Running 5s test\n", expected_status=200)


def test_access_log_counts_only_the_runs_requests_by_status():
    adds = figures.access_log_statuses(ACCESS_LOG, {"POST /cart/add/"})
    assert adds == {"302": 2, "409": 1}
    assert figures.access_log_statuses(ACCESS_LOG, {"GET /?q=tea", "GET /?q=oak"}) == {"200": 1}


def test_requests_in_flight_that_gunicorn_answered_are_not_failures():
    run = make_run(100.0)
    assert (run.unanswered, run.failures) == (0, 0)
    run.server_statuses = {"200": run.sent - 3}
    assert (run.unanswered, run.failures) == (3, 3)


def test_statuses_the_server_logged_but_wrk_never_saw_still_fail_the_run():
    run = make_run(100.0, server_statuses={"200": 500, "500": 8})
    assert run.unexpected_statuses == 0
    assert run.server_unexpected == 8
    assert run.failures == 8


def test_a_flow_of_steps_expects_each_of_its_statuses():
    run = make_run(100.0, expected_status=(200, 302), statuses={"200": 125, "302": 375})
    run.server_statuses = {"200": 127, "302": 381}
    assert (run.unexpected_statuses, run.server_unexpected, run.failures) == (0, 0, 0)
    run.statuses = {"200": 125, "302": 370, "500": 5}
    assert run.unexpected_statuses == 5


def test_the_bare_yardstick_has_no_server_log_to_miss_requests_in():
    run = make_run(100.0, server_statuses={}, server_logged=False)
    assert (run.unanswered, run.failures) == (0, 0)


def rounds() -> list[dict[str, Run]]:
    """Three rounds; the machine was slower in the second, for the yardsticks and pages alike."""
    speeds = [(1000, 600, 420, 310), (800, 470, 330, 250), (1000, 590, 410, 300)]
    return [
        figures.with_ratios(
            {
                "bare": make_run(ceiling * 1.25, p99_ms=6.0),
                "ceiling": make_run(ceiling, p99_ms=8.0),
                "home": make_run(home, p99_ms=20.0),
                "cart": make_run(cart, p99_ms=30.0 + n),
                "add_to_cart": make_run(add, p99_ms=12.0),
            }
        )
        for n, (ceiling, home, cart, add) in enumerate(speeds)
    ]


def test_a_page_is_compared_with_the_ceiling_run_just_before_it():
    # The machine slowed down after the round's ceiling run: home ran on the slow machine,
    # right after a ceiling run that saw it too.
    slow_ceiling = make_run(600, cpu={"cpu_ms_per_request": {"gunicorn": 3.0}})
    runs = figures.with_ratios(
        {
            "bare": make_run(1100),
            "ceiling": make_run(1000, cpu={"cpu_ms_per_request": {"gunicorn": 2.0}}),
            "home": make_run(540, cpu={"cpu_ms_per_request": {"gunicorn": 3.3}}),
        },
        paired={"home": slow_ceiling},
    )
    assert runs["home"].ratio == pytest.approx(0.9)  # not 54%, against the round's ceiling
    assert runs["home"].cpu_ratio == pytest.approx(3.0 / 3.3)
    assert runs["home"].ceiling_req_per_s == 600
    assert runs["ceiling"].ratio == 1.0 and runs["ceiling"].ceiling_req_per_s == 1000
    assert runs["home"].bare_ratio == pytest.approx(540 / 1100)


def test_cpu_ratio_predicts_the_share_from_cpu_per_request():
    runs = figures.with_ratios(
        {
            "ceiling": make_run(900, cpu={"cpu_ms_per_request": {"gunicorn": 1.5, "wrk": 0.5}}),
            "home": make_run(80, cpu={"cpu_ms_per_request": {"gunicorn": 9.0, "wrk": 1.0}}),
            "login": make_run(3, cpu={"cpu_ms_per_request": {"gunicorn": None, "wrk": None}}),
        }
    )
    assert runs["home"].cpu_ratio == pytest.approx(0.2)
    assert runs["home"].ratio == pytest.approx(80 / 900)  # a busy machine: they differ
    assert runs["login"].cpu_ratio is None  # no request completed, no cost per request


def test_ratios_are_taken_within_a_round_and_summarised_by_the_median():
    measured = rounds()
    assert measured[1]["home"].ratio == pytest.approx(470 / 800)
    summary = figures.summarise_rounds(measured)
    assert summary["ceiling"].ratio == 1.0
    assert summary["ceiling"].bare_ratio == pytest.approx(0.8)
    assert summary["home"].bare_ratio == pytest.approx(590 / 1250)
    assert summary["home"].req_per_s == 590
    assert summary["home"].ratio == pytest.approx(0.59)
    assert summary["home"].ratio_range == (pytest.approx(0.5875), pytest.approx(0.6))
    assert summary["cart"].p99_ms == 31.0
    assert summary["cart"].requests == (420 + 330 + 410) * 5


def test_targets_hold_or_are_missed_on_the_medians():
    main = figures.summarise_rounds(rounds())
    checks = {
        c.name: c
        for c in figures.check_targets(main, ["home", "cart"], lost_updates=0, checkout_errors=0)
    }
    assert not checks["home ratio"].met  # 59% against 90%
    assert checks["home ratio"].measured == "59% (from CPU per request: 100%)"
    assert not checks["cart ratio"].met  # 41% against 50%
    assert not checks["add_to_cart ratio"].met  # 31% against 55%
    assert not checks["ceiling vs bare"].met and checks["ceiling vs bare"].measured == "80%"
    assert checks["home p99 / p50"].met  # p99 is twice p50 in every round
    assert checks["add_to_cart lost updates"].met
    assert checks["checkout orders lost or oversold"].met
    assert "product ratio" not in checks  # not measured, not judged
    lost = figures.check_targets(main, [], lost_updates=1, checkout_errors=2)
    assert not next(c for c in lost if c.name == "add_to_cart lost updates").met
    assert not next(c for c in lost if c.name == "checkout orders lost or oversold").met


def test_the_tail_target_takes_each_pages_worst_round():
    runs = rounds()
    runs[1]["cart"].p50_ms = 10.0  # p99 31 ms: 3.1 times p50 in that round only
    checks = {
        c.name: c
        for c in figures.check_targets(figures.summarise_rounds(runs), ["cart"], lost_updates=None)
    }
    assert not checks["cart p99 / p50"].met
    assert checks["cart p99 / p50"].measured == "3.1 in its worst round"


def test_ceiling_vs_bare_line_says_both_rates():
    line = figures.ceiling_vs_bare(figures.summarise_rounds(rounds()))
    assert line == "ceiling vs bare: 80% (1,000 against 1,250 req/s; target >= 85%)"
    assert figures.ceiling_vs_bare(figures.summarise_rounds([{"ceiling": make_run(900)}])) is None


def test_the_yardsticks_own_tail_is_reported_from_their_worst_round():
    runs = [
        {"bare": make_run(1250), "ceiling": make_run(1000)},  # p99 = 2 x p50
        {"bare": make_run(1250), "ceiling": make_run(1000, p50_ms=2.0)},  # p99 = 5 x p50
    ]
    line = figures.yardstick_tails(figures.summarise_rounds(runs))
    assert line.endswith("(no target): bare 2.0, ceiling 5.0")
    assert figures.yardstick_tails(figures.summarise_rounds([{"home": make_run(900)}])) is None


def test_scale_compares_each_phase_to_its_own_ceiling():
    small = figures.summarise_rounds(rounds())
    # The machine is 20% slower in the scale phase: the ceiling drops too, so search keeps
    # 90% of its share, not the 72% a raw req/s comparison would claim.
    large = figures.summarise_rounds(
        [
            figures.with_ratios(
                {"ceiling": make_run(800 * f), "home": make_run(600 * 0.9 * 0.8 * f)}
            )
            for f in (1.0, 0.99, 1.01)
        ]
    )
    assert figures.scale_kept(small["home"], large["home"]) == pytest.approx(
        (0.9 * 0.8 * 600 / 800) / 0.59
    )
    checks = {c.name: c for c in figures.check_targets(small, [], lost_updates=0, scale=large)}
    assert checks["home at scale"].met
    assert "search at scale" not in checks
    compared = figures.scale_comparison(small, large)
    assert set(compared) == {"home"}
    assert compared["home"]["kept"] == pytest.approx(0.9 * 0.8 * 600 / 800 / 0.59)
    assert compared["home"]["req_per_s_kept"] == pytest.approx(0.9 * 0.8 * 600 / 590)


def test_lost_updates_are_adds_the_server_confirmed_that_the_cart_lacks():
    assert figures.lost_updates(database_total=1998, server_successes=1998) == 0
    assert figures.lost_updates(database_total=1995, server_successes=1998) == 3


def test_table_shows_each_endpoint_with_its_target():
    text = figures.table(figures.summarise_rounds(rounds()), {"home": "catalogue list (home)"})
    lines = text.splitlines()
    assert lines[0].startswith(
        "| endpoint | req/s | p50 ms | p99 ms | ratio to ceiling | target | ratio to bare |"
    )
    # Every run here costs the same CPU per request: a CPU ratio of 100%.
    home = "| catalogue list (home) | 590 | 10.0 | 20.0 | 59% | >= 90% | 47% | 0 | 100% | 12.0 |"
    assert f"{home} 4.0 | 1.50 | 100:0 | 1% |" in lines
    ceiling = "| ceiling | 1,000 | 4.0 | 8.0 | 100% |  | 80% | 0 | 100% | 12.0 | 4.0 | 1.50 |"
    assert f"{ceiling} 100:0 | 1% |" in lines


def test_each_nodes_share_of_the_queries_reads_primary_first():
    assert figures.node_shares(0.0) == "100:0"
    assert figures.node_shares(0.874) == "13:87"
    assert figures.node_shares(None) == ""


# py-spy --format raw: "frame;frame;... count" (shortened here to the frames that matter).
PY_SPY_RAW = """\
process 1:"gunicorn";ThreadWorker.run (gunicorn/workers/gthread.py:300);poll (selectors.py:468) 400
process 1:"gunicorn";ThreadWorker.handle_request (gunicorn/workers/gthread.py:771);\
WSGIHandler.__call__ (django/core/handlers/wsgi.py:124);product_detail (catalog/views.py:47);\
product_get (catalog/selectors.py:50);_execute (django/db/backends/utils.py:105) 30
process 1:"gunicorn";ThreadWorker.handle_request (gunicorn/workers/gthread.py:771);\
WSGIHandler.__call__ (django/core/handlers/wsgi.py:124);product_detail (catalog/views.py:47);\
render (django/shortcuts.py:25);Template.render (django/template/base.py:170);\
sub (re/__init__.py:185) 50
process 1:"gunicorn";ThreadWorker.handle_request (gunicorn/workers/gthread.py:771);\
SessionMiddleware.process_response (django/contrib/sessions/middleware.py:60);\
SessionStore.save (webapp/sessions.py:22);dumps (json/__init__.py:231) 20
"""


def test_profile_charges_each_in_request_sample_to_the_nearest_known_part():
    summary = profile.summarise(PY_SPY_RAW)
    assert summary["samples"] == 100  # the idle worker loop is left out
    assert summary["parts"] == {
        "templates": 0.5,
        "psycopg2: send query, read rows": 0.3,
        "sessions and signing": 0.2,
    }
    assert summary["shop_functions"]["product_detail (catalog/views.py)"] == 0.8
    assert summary["shop_functions"]["product_get (catalog/selectors.py)"] == 0.3
