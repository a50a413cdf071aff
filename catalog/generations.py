"""Catalogue cache generations, safe with a read replica.

Catalogue reads are cached in each process's memory under a generation (catalog/selectors.py,
the templates' `{% cache %}` fragments); a change to anything the catalogue shows starts a
new generation once it commits (catalog.services.catalog_changed), for every instance at
once, because the list of generations lives in Redis.

Each generation is a pair: its version, which names it in cache keys (a timestamp, so a
list lost to eviction or a Redis restart can never bring back an older generation's
entries), and its position, the primary's WAL position just after the change that started
it (webapp.replicas.primary_position). The rule: a generation is filled only from data at
least as new as its position. A request reading the primary uses the newest generation. A
request reading a replica uses the newest generation the replica has replayed (stale, as
replica reads are, but never cached as newer than it is); if the replica has replayed none
of the generations kept, the request reads the catalogue from the primary instead. Without
a replica every position is 0 and the newest generation always wins.

New generations are pushed by an atomic Redis script that keeps positions non-decreasing
down the list (a generation's position is at least every earlier one's), so two changes
committing at once, or a failover whose new primary's positions start a little lower,
never leave the newest generation claiming less than what was cached under older ones.
"""

import logging
import time
from contextlib import suppress

from django.core.cache import cache
from django.db import DatabaseError

from webapp import replicas

logger = logging.getLogger(__name__)

KEY = "catalog:generations"
KEPT = 20  # a replica this many catalogue changes behind reads the catalogue from the primary

# KEYS[1]: the list, newest first, of "version:position"; ARGV: version, position, KEPT.
_PUSH = """
local position = tonumber(ARGV[2])
local newest = redis.call('LINDEX', KEYS[1], 0)
if newest then
  local before = tonumber(string.match(newest, ':(%d+)$'))
  if before and before > position then position = before end
end
redis.call('LPUSH', KEYS[1], ARGV[1] .. ':' .. string.format('%d', position))
redis.call('LTRIM', KEYS[1], 0, tonumber(ARGV[3]) - 1)
return position
"""


def generation_start() -> None:
    """Start a new generation for the change that just committed (an on_commit callback)."""
    try:
        position = replicas.primary_position()
    except DatabaseError:
        # Without the change's position no new generation can be trusted: drop them all,
        # and the next reader starts one with the primary's position then.
        _store().forget()
        return
    _store().push(time.time_ns(), position)


def generation_for_request(request) -> int:
    """The version under which this request reads and caches the catalogue (see the rule
    above); one Redis round trip, and at most one question to the replica."""
    store = _store()
    generations = store.read()
    if generations == []:  # none yet, or the list was lost: start one from now
        with suppress(DatabaseError):  # the primary is down: see below
            store.push(time.time_ns(), replicas.primary_position())
        generations = store.read()
    if not generations:
        # Redis (or the primary) unreachable: a version for this request alone, as no other
        # request will ever read what it caches.
        return time.time_ns()
    position = replicas.replica_position()
    if position is not None:
        for version, start in generations:
            if start <= position:
                return version
    version, start = generations[0]
    replicas.reads_after(start)
    return version


class _RedisStore:
    """The list in Redis (django-redis), pushed by the atomic script."""

    def __init__(self):
        from django_redis import get_redis_connection

        self.client = get_redis_connection("default")
        self.key = cache.make_and_validate_key(KEY)

    def read(self) -> list[tuple[int, int]] | None:
        """[(version, position)], newest first; None if Redis did not answer."""
        import redis

        try:
            entries = self.client.lrange(self.key, 0, -1)
        except redis.RedisError:
            return None
        return [tuple(int(n) for n in entry.split(b":")) for entry in entries]

    def push(self, version: int, position: int) -> None:
        import redis

        try:
            self.client.eval(_PUSH, 1, self.key, version, position, KEPT)
        except redis.RedisError:
            logger.warning("could not start a catalogue generation: Redis did not answer")

    def forget(self) -> None:
        import redis

        try:
            self.client.delete(self.key)
        except redis.RedisError:
            logger.warning("could not drop the catalogue generations: Redis did not answer")


class _LocalStore:
    """One process's memory (the embedded default without Redis: no replica possible, as
    settings refuse DATABASE_REPLICA_URL without REDIS_URL)."""

    def read(self) -> list[tuple[int, int]]:
        return cache.get(KEY, [])

    def push(self, version: int, position: int) -> None:
        generations = self.read()
        position = max([position, *(start for _, start in generations[:1])])
        cache.set(KEY, [(version, position), *generations][:KEPT], None)

    def forget(self) -> None:
        cache.delete(KEY)


def _store():
    return _RedisStore() if hasattr(cache, "client") else _LocalStore()
