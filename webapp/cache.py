"""A circuit breaker in front of Redis, for django-redis (REDIS_CLIENT_CLASS).

The cache is forgiving (IGNORE_EXCEPTIONS: a Redis outage is a cache miss), but without a
breaker every cache call of every request still waits for Redis to refuse (redis-py retries
with backoff) and django-redis logs a traceback per call: thousands a minute per instance,
burying every other error. Here, a connection error or timeout opens the breaker: for
`OPEN_SECONDS` every command fails at once without touching the network (django-redis
turns that into the usual miss), then one command tries Redis again. The outage is logged
once when it starts, once per `LOG_SECONDS` while it lasts, with how many cache calls
failed or were skipped, and once when Redis answers again.

PING is never skipped: /readyz asks Redis itself, and its answer closes the breaker.
"""

import logging
import threading
import time
import weakref

import redis
from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.locmem import LocMemCache
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)

OPEN_SECONDS = 3.0
LOG_SECONDS = 60.0
OUTAGE = (RedisConnectionError, RedisTimeoutError, OSError)


class Breaker:
    """One Redis server's state as this process sees it; shared by its threads.

    Log lines are decided under the lock and written after it is released: writing a log
    record may itself touch the cache (the log filter reads the request's session), which
    must find the lock free.
    """

    def __init__(self, name: str, clock=time.monotonic):
        self.name = name
        self.clock = clock
        self._lock = threading.Lock()
        self._open_until = 0.0
        self._down_since: float | None = None
        self._logged_at = 0.0
        self._missed = 0  # cache calls failed or skipped since the last log line

    def allow(self) -> bool:
        """False while the breaker is open: the caller must not touch Redis."""
        if self.clock() >= self._open_until:  # closed, the usual case: no lock to take
            return True
        with self._lock:
            if self.clock() >= self._open_until:
                return True
            self._missed += 1
            line = self._line_if_due()
        _write(line)
        return False

    def failed(self, error: Exception) -> None:
        with self._lock:
            now = self.clock()
            self._open_until = now + OPEN_SECONDS
            self._missed += 1
            if self._down_since is None:
                self._down_since = now
                line = self._line(
                    f"Redis {self.name} unreachable ({type(error).__name__}: {error})"
                )
            else:
                line = self._line_if_due()
        _write(line)

    def succeeded(self) -> None:
        if self._down_since is None:  # the usual case: no lock, nothing to do
            return
        with self._lock:
            if self._down_since is None:
                return
            line = (
                "Redis %s answers again after %.0f s; %d cache calls failed or were skipped "
                "since the last line",
                self.name,
                self.clock() - self._down_since,
                self._missed,
            )
            self._down_since = None
            self._open_until = 0.0
            self._missed = 0
        _write(line)

    def _line_if_due(self) -> tuple | None:
        if self.clock() - self._logged_at < LOG_SECONDS:
            return None
        down_for = self.clock() - (self._down_since or self.clock())
        return self._line(f"Redis {self.name} still unreachable after {down_for:.0f} s")

    def _line(self, what: str) -> tuple:
        line = (
            "%s: cache calls skip it for %.0f s at a time (misses, not errors); %d failed "
            "or were skipped since the last line",
            what,
            OPEN_SECONDS,
            self._missed,
        )
        self._logged_at = self.clock()
        self._missed = 0
        return line


def _write(line: tuple | None) -> None:
    if line is not None:
        logger.warning(*line)


# One breaker per connection pool (django-redis shares a pool per server between the
# threads' clients), created on first use.
_breakers: "weakref.WeakKeyDictionary[redis.ConnectionPool, Breaker]" = weakref.WeakKeyDictionary()
_breakers_lock = threading.Lock()


def breaker_for(pool: redis.ConnectionPool) -> Breaker:
    breaker = _breakers.get(pool)  # every cache call asks: no lock once it exists
    if breaker is not None:
        return breaker
    with _breakers_lock:
        if pool not in _breakers:
            kwargs = pool.connection_kwargs
            name = f"{kwargs.get('host', kwargs.get('path', '?'))}:{kwargs.get('port', '')}"
            _breakers[pool] = Breaker(name)
        return _breakers[pool]


def _guarded(breaker: Breaker, command: str, call):
    if command != "PING" and not breaker.allow():
        raise RedisConnectionError(f"skipped: Redis {breaker.name} failed in the last seconds")
    try:
        result = call()
    except OUTAGE as error:
        breaker.failed(error)
        raise
    breaker.succeeded()
    return result


class BreakerRedis(redis.Redis):
    """redis-py's client with every command and pipeline behind the server's breaker."""

    @property
    def breaker(self) -> Breaker:
        return breaker_for(self.connection_pool)

    def execute_command(self, *args, **options):
        command = str(args[0]).upper() if args else ""
        parent = super()
        return _guarded(self.breaker, command, lambda: parent.execute_command(*args, **options))

    def pipeline(self, transaction=True, shard_hint=None):
        return BreakerPipeline(
            self.connection_pool, self.response_callbacks, transaction, shard_hint
        )


class BreakerPipeline(redis.client.Pipeline):
    def execute(self, raise_on_error=True):
        breaker = breaker_for(self.connection_pool)
        parent = super()
        return _guarded(breaker, "MULTI", lambda: parent.execute(raise_on_error))


class ObjectMemoryCache(LocMemCache):
    """The process's memory holding the objects themselves, not pickles of them: for data
    that never changes under its key (CACHES["local"]: the catalogue generation's products,
    categories and rendered fragments), read on every page and written once. Unpickling
    the products on each read was a quarter of the signed-in product page. What it returns
    is shared by the process's threads: callers read it and never change it. No key
    validation either: its warnings are about memcached's limits, not this cache's."""

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        key = self.make_key(key, version=version)
        with self._lock:
            if not self._has_expired(key):
                return False
            self._set(key, value, timeout)
            return True

    def get(self, key, default=None, version=None):
        key = self.make_key(key, version=version)
        with self._lock:
            if self._has_expired(key):
                self._delete(key)
                return default
            self._cache.move_to_end(key, last=False)
            return self._cache[key]

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        key = self.make_key(key, version=version)
        with self._lock:
            self._set(key, value, timeout)

    def incr(self, key, delta=1, version=None):
        key = self.make_key(key, version=version)
        with self._lock:
            if self._has_expired(key):
                self._delete(key)
                raise ValueError(f"Key '{key}' not found")
            self._cache[key] += delta
            self._cache.move_to_end(key, last=False)
            return self._cache[key]

    def validate_key(self, key):
        pass
