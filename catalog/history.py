"""What each visitor looked at lately: soft state, shared by every instance through Redis.

A list of (product id, when viewed) pairs, newest first, in the shared cache: an anonymous
visitor's under the random id their session keeps (catalog.models.VISITOR_SESSION_KEY), a
shopper's under their account. Recording a view is one Redis round trip, never a database
write.

A shopper's list is kept in PostgreSQL too (catalog.RecentView: the recommendations read it
there, and it comes back from there after Redis loses it), but not by the request: the
request marks the account unsaved in the same round trip that stores the list, and every
instance's worker saves the unsaved accounts about once a second
(catalog.services.recently_viewed_save), each account by one of them (SPOP). What a Redis
failure can lose is what no worker has saved yet: a restart, the views of the last second
or so; a failover, the last writes the replica had not received.

Without Redis (`make run`: each process has its own memory, so no worker could see the
marks) a shopper's list is saved by the request that changes it.
"""

import redis
from django.conf import settings
from django.core.cache import cache

Viewed = list[tuple[int, float]]  # (product id, epoch seconds), newest first

# Entries kept per list: twice what pages show, so products withdrawn since they were
# viewed can drop out and still leave a full list.
KEPT = 20
UNSAVED_KEY = "viewed:unsaved"  # a Redis set of account ids


def visitor_key(visitor: str) -> str:
    return f"viewed:visitor:{visitor}"


def account_key(user_id: int) -> str:
    return f"viewed:account:{user_id}"


def _ttl() -> int:
    return settings.SESSION_COOKIE_AGE


def fill(key: str, viewed: Viewed) -> None:
    """Hold a list read from PostgreSQL, unless a view recorded meanwhile holds a newer one."""
    cache.add(key, viewed, _ttl())


def write(key: str, viewed: Viewed, *, unsaved_account: int | None = None) -> bool:
    """Hold the list; with `unsaved_account`, mark that account's list for the workers, in
    the same round trip. False when no worker can see the mark (no Redis): the caller then
    saves the list itself."""
    if not _shared():
        cache.set(key, viewed, _ttl())
        return unsaved_account is None
    pipe = _client().pipeline(transaction=False)
    pipe.set(cache.make_and_validate_key(key), cache.client.encode(viewed), ex=_ttl())
    if unsaved_account is not None:
        pipe.sadd(_unsaved_key(), unsaved_account)
    _answer(pipe.execute)  # not answered: the view is not recorded (soft state)
    return True


def delete(key: str) -> None:
    cache.delete(key)


def unsaved_take(count: int) -> list[int]:
    """Up to `count` accounts whose lists wait to be saved, each given to this caller alone."""
    if not _shared():
        return []
    return [int(user_id) for user_id in _answer(_client().spop, _unsaved_key(), count) or []]


def unsaved_mark(user_ids: list[int]) -> None:
    """Give accounts back to the workers (a save that failed)."""
    if user_ids and _shared():
        _answer(_client().sadd, _unsaved_key(), *user_ids)


def account_forget(user_id: int) -> None:
    """The account's list and its mark go (a closed account)."""
    cache.delete(account_key(user_id))
    if _shared():
        _answer(_client().srem, _unsaved_key(), user_id)


def _shared() -> bool:
    """Whether the cache is Redis (django-redis), shared by every process."""
    return hasattr(cache, "client")


def _client() -> redis.Redis:
    return cache.client.get_client(write=True)


def _unsaved_key() -> str:
    return cache.make_and_validate_key(UNSAVED_KEY)


def _answer(command, *args):
    """The command's answer, or None when Redis did not answer (the cache's breaker logs
    the outage, webapp/cache.py)."""
    try:
        return command(*args)
    except redis.RedisError:
        return None
