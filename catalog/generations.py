"""Catalogue cache generations, safe with a read replica.

Catalogue reads are cached in each process's memory under a generation (catalog/selectors.py,
the templates' `{% cache %}` fragments); a change to anything the catalogue shows starts a
new generation once it commits (catalog.services.catalog_changed), for every instance at
once, because the generations live in Redis.

Each generation is a pair: its version, which names it in cache keys (a timestamp, so a
set lost to eviction or a Redis restart can never bring back an older generation's
entries), and its position, the primary's WAL position just after the change that started
it (webapp.replicas.primary_position). The rule: a generation is filled only from data at
least as new as its position. A request reading the primary uses the newest generation. A
request reading a replica uses the newest generation the replica has replayed (stale, as
replica reads are, but never cached as newer than it is); if the replica has replayed none
of the generations kept, the request reads the catalogue from the primary instead. Without
a replica every position is 0 and the newest generation always wins.

Generations live in a Redis sorted set scored by position. New ones are added by an atomic
script that makes each score strictly greater than every earlier one, so the newest
generation is always the highest score, and its score is never below the position of any
change made before it (two changes committing at once, or a failover whose new primary
starts at slightly lower positions, only make a score a little higher than it needs to
be: a replica then waits a little longer before it may fill that generation).
"""

import logging
import time
from contextlib import suppress

from django.core.cache import cache
from django.db import DatabaseError

from webapp import replicas

logger = logging.getLogger(__name__)

KEY = "catalog:generations"
# Generations kept: a replica more catalogue changes behind than this reads the catalogue
# from the primary. (An order starts one when it takes a product near selling out, so a
# busy shop may start several per second.)
KEPT = 1000

# KEYS[1]: the sorted set (member: version, score: position); ARGV: version, position, KEPT.
_ADD = """
local position = tonumber(ARGV[2])
local newest = redis.call('ZREVRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if newest[2] and tonumber(newest[2]) >= position then position = tonumber(newest[2]) + 1 end
redis.call('ZADD', KEYS[1], position, ARGV[1])
redis.call('ZREMRANGEBYRANK', KEYS[1], 0, -tonumber(ARGV[3]) - 1)
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
    _store().add(time.time_ns(), position)


def generation_for_request(request) -> int:
    """The version under which this request reads and caches the catalogue (see the rule
    above): at most one question to the replica, then one Redis round trip."""
    store = _store()
    replayed = replicas.replica_position()  # None: this request reads the primary
    newest, readable = store.read(replayed)
    if newest is None and store.reachable:  # none yet, or the set was lost: start one now
        with suppress(DatabaseError):  # the primary is down: see below
            store.add(time.time_ns(), replicas.primary_position())
        newest, readable = store.read(replayed)
    if newest is None:
        # Redis (or the primary) unreachable: a version for this request alone, as no other
        # request will ever read what it caches.
        return time.time_ns()
    if readable is not None:
        return readable[0]
    version, position = newest
    replicas.reads_after(position)
    return version


Generation = tuple[int, int]  # (version, position)


class _RedisStore:
    """The sorted set in Redis (django-redis), added to by the atomic script."""

    def __init__(self):
        from django_redis import get_redis_connection

        self.client = get_redis_connection("default")
        self.key = cache.make_and_validate_key(KEY)
        self.reachable = True

    def read(self, replayed: int | None) -> tuple[Generation | None, Generation | None]:
        """The newest generation, and the newest whose position is at most `replayed`
        (None when `replayed` is); (None, None) if there is none or Redis did not answer."""
        import redis

        try:
            if replayed is None:  # the primary's reads: one command, no pipeline to build
                answers = [self.client.zrevrange(self.key, 0, 0, withscores=True)]
            else:
                pipe = self.client.pipeline(transaction=False)
                pipe.zrevrange(self.key, 0, 0, withscores=True)
                pipe.zrevrangebyscore(self.key, replayed, "-inf", start=0, num=1, withscores=True)
                answers = pipe.execute()
            newest, *readable = [
                [(int(version), int(position)) for version, position in rows] for rows in answers
            ]
        except redis.RedisError:
            self.reachable = False
            return None, None
        return _first(newest), _first(readable[0]) if readable else None

    def add(self, version: int, position: int) -> None:
        import redis

        try:
            self.client.eval(_ADD, 1, self.key, version, position, KEPT)
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

    reachable = True

    def read(self, replayed: int | None) -> tuple[Generation | None, Generation | None]:
        generations = cache.get(KEY, [])  # newest first
        readable = [g for g in generations if replayed is not None and g[1] <= replayed]
        return _first(generations), _first(readable)

    def add(self, version: int, position: int) -> None:
        generations = cache.get(KEY, [])
        if generations and generations[0][1] >= position:
            position = generations[0][1] + 1
        cache.set(KEY, [(version, position), *generations][:KEPT], None)

    def forget(self) -> None:
        cache.delete(KEY)


def _first(generations: list[Generation]) -> Generation | None:
    return generations[0] if generations else None


def _store():
    return _RedisStore() if hasattr(cache, "client") else _LocalStore()
