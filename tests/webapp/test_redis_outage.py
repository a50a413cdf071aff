"""While Redis is down, the cache is skipped for a few seconds at a time and the outage is
logged once, not as a traceback per cache call: against a real Redis this test stops."""

import logging
import threading
import time

import pytest
import redis
from django.conf import settings
from django_redis.cache import RedisCache

from deploy.servers import Redis, free_low_port
from webapp import cache as breaker_module

CALLS = 500


@pytest.fixture
def server(tmp_path):
    """A Redis of the test's own (its own port, so its own connection pool and breaker)."""
    server = Redis(tmp_path / "redis", free_low_port()).start()
    yield server
    server.stop()


@pytest.fixture
def shop_cache(server):
    """A cache configured as the shop's `default` alias, on the test's Redis."""
    config = settings.CACHES["default"]
    cache = RedisCache(server.url(), {**config, "OPTIONS": dict(config["OPTIONS"])})
    return cache


def commands_counter(server):
    """A function that returns how many commands Redis processed so far (each call adds its
    own INFO), over a connection of its own that bypasses the shop's cache."""
    raw = redis.Redis.from_url(server.url())
    return lambda: raw.info("stats")["total_commands_processed"]


def test_an_outage_logs_one_line_and_no_traceback(shop_cache, server, caplog):
    shop_cache.set("probe", 1)
    server.stop()
    caplog.set_level(logging.INFO)
    started = time.perf_counter()
    answers = {shop_cache.get(f"key-{n}", "miss") for n in range(CALLS)}
    seconds = time.perf_counter() - started
    server.start()
    tracebacks = [r for r in caplog.records if r.exc_info]
    outage_lines = [r for r in caplog.records if r.name == "webapp.cache"]
    print(
        f"{CALLS} cache calls with Redis down: {len(tracebacks)} tracebacks, "
        f"{len(outage_lines)} outage lines, {seconds * 1000:.0f} ms in all"
    )
    assert answers == {"miss"}  # a miss, never an error
    assert tracebacks == []
    assert len(outage_lines) == 1
    assert "unreachable" in outage_lines[0].getMessage()


def test_redis_is_skipped_for_a_few_seconds_then_tried_again(shop_cache, server, caplog):
    shop_cache.set("probe", 1)
    breaker = breaker_module.breaker_for(shop_cache.client.get_client().connection_pool)
    now = [1000.0]
    breaker.clock = lambda: now[0]
    try:
        server.stop()
        assert shop_cache.get("probe") is None  # fails: the breaker opens
        server.start()  # back (empty), but the breaker is still open
        commands = commands_counter(server)
        before = commands()
        assert [shop_cache.get("probe", "skipped") for _ in range(100)] == ["skipped"] * 100
        shop_cache.set("probe", 2)
        assert commands() == before + 1  # only the INFO: nothing reached Redis

        caplog.set_level(logging.INFO)
        now[0] += breaker_module.OPEN_SECONDS
        shop_cache.set("probe", 3)
        assert shop_cache.get("probe") == 3
        assert "answers again" in caplog.records[-1].getMessage()
    finally:
        breaker.clock = time.monotonic


def test_writing_the_outage_line_may_use_the_cache_itself(shop_cache, server):
    """The shop's log filter reads the request's session, which may read the cache: the
    breaker must not hold its lock while it logs (that call would wait on it for ever)."""

    class ReadsTheCache(logging.Filter):
        def filter(self, record):
            shop_cache.get("session-of-the-request")
            return True

    reentrant = ReadsTheCache()
    logging.getLogger("webapp.cache").addFilter(reentrant)
    try:
        shop_cache.set("probe", 1)
        server.stop()
        call = threading.Thread(target=shop_cache.get, args=("probe",), daemon=True)
        call.start()
        call.join(timeout=15)
        assert not call.is_alive(), "a cache call deadlocked on the breaker while logging"
    finally:
        logging.getLogger("webapp.cache").removeFilter(reentrant)
