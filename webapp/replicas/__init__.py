"""Reads on a PostgreSQL read replica, with read-your-writes decided by WAL position.

`DATABASE_REPLICA_URL` turns this on (webapp/settings.py adds the `replica` alias, the router
and the middleware below); unset, everything runs on the primary and none of this is loaded.
The rules, each in one place:

- Which requests may read from the replica (`ReplicaMiddleware.process_view`): GET and HEAD
  outside the admin and the account pages. Everything else reads the primary: writes and
  their forms, transactions and locks (the router checks `in_atomic_block`; Django sends
  `select_for_update` to the write database), management commands, the worker and
  migrations (no request), and the apps in `PRIMARY_APPS`.
- Read-your-writes (`_Routing`): when a request wrote to the primary, its response carries
  the primary's WAL insert position in a signed cookie; every later read of that visitor
  goes to the replica only once the replica's `pg_last_wal_replay_lsn()` has passed it. That
  is exact, where django-multidb-router (the model for this router + middleware split)
  pins a visitor to the primary for a fixed 15 s: stale reads when the lag is longer,
  wasted primary reads when it is shorter. A cookie rather than the session: it costs no
  session write per write request, and a Redis failover cannot lose it.
- Cached reads raise the bar for their request (`reads_after`): catalog/generations.py makes
  sure no cache generation is filled from a replica that has not replayed the change that
  started it.
- The replica's position is asked at most once per request, and not at all while this
  process knows a position less than a second old that is far enough.
- A replica that is down, or that lags more than `DATABASE_REPLICA_MAX_LAG` seconds, is
  skipped: reads go to the primary, and a read the replica fails mid-request is run on the
  primary instead (webapp/replicas/base.py, the replica alias's database backend).
"""

import contextvars
import logging
import re
import time
from dataclasses import dataclass

from django.conf import settings
from django.db import DatabaseError, connections

logger = logging.getLogger(__name__)

DEFAULT, REPLICA = "default", "replica"
# Where the visitor's last write ended on the primary (a signed cookie, see above).
COOKIE = "wal_position"
# Apps whose reads always go to the primary: sessions (the shop's session model lives in
# `webapp`) and login throttling decide who someone is; the cart's reads fill its item count
# in Redis, keyed by the cart alone, where a stale replica read would stay for minutes.
PRIMARY_APPS = {"webapp", "sessions", "axes", "cart"}
# URL namespaces whose pages read the primary even on GET: staff edit what they read, and
# account pages (sign-up confirmation, password reset links) are opened from emails, often
# in another browser than the one that wrote.
PRIMARY_NAMESPACES = {"admin", "accounts"}
# A position this process learnt less than this many seconds ago spares the next request
# its own question to the replica (positions only grow, so an old one is never too far).
FRESH_SECONDS = 1.0
# After a failed connection or query, the replica is left alone this long.
RETRY_SECONDS = 2.0

# The replica's replay position in bytes, and its lag in seconds: 0 while it has replayed
# everything it received and still receives, else the age of the last commit it replayed
# (NULL: none yet, or not a replica at all). After a spell without commits that age
# overstates the lag by the spell, until the replica replays a newer commit: reads go to
# the primary meanwhile, which is safe; a live shop commits several times a second.
POSITION_SQL = """
SELECT pg_last_wal_replay_lsn() - '0/0'::pg_lsn,
       CASE WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn()
                 AND EXISTS (SELECT FROM pg_stat_wal_receiver) THEN 0
            ELSE EXTRACT(EPOCH FROM clock_timestamp() - pg_last_xact_replay_timestamp())
       END
"""
_READS = ("SELECT", "SAVEPOINT", "RELEASE", "ROLLBACK", "SHOW", "SET ")
# A WITH statement is a read unless one of its parts changes data.
_CHANGES_DATA = re.compile(r"\b(INSERT|UPDATE|DELETE|MERGE)\b", re.IGNORECASE)


def may_write(sql: str) -> bool:
    """Whether a statement may change data: anything but a read or transaction
    bookkeeping. A read taken for a write pins its visitor to the primary, as each of
    their reads there counts again (the anonymous visitor's "Picked for you" is a WITH
    query); a write taken for a read would serve them stale pages, so doubt means write."""
    head = sql.lstrip()[:9].upper()
    if head.startswith("WITH"):
        return bool(_CHANGES_DATA.search(sql))
    return not head.startswith(_READS)


@dataclass(frozen=True)
class _Seen:
    at: float  # time.monotonic()
    position: int | None  # None: lagging too far to read from


class _Replica:
    """What this process knows about the replica (shared by its threads; every field is
    replaced whole, so a thread never sees half an update)."""

    seen: _Seen | None = None
    down_until: float = 0.0


_replica = _Replica()
_current: contextvars.ContextVar["_Routing | None"] = contextvars.ContextVar(
    "replica_routing", default=None
)


def replica_failed() -> None:
    """The replica did not answer: leave it alone for RETRY_SECONDS."""
    _replica.down_until = time.monotonic() + RETRY_SECONDS
    logger.warning("read replica unavailable; reads go to the primary for %s s", RETRY_SECONDS)


def _ask_replica() -> int | None:
    """The replica's replay position, or None if it is down or lags too far."""
    replica = connections[REPLICA]
    try:
        replica.ensure_connection()
        with replica.wrap_database_errors, replica.connection.cursor() as cursor:
            cursor.execute(POSITION_SQL)
            replayed, lag = cursor.fetchone()
    except DatabaseError:
        replica_failed()
        return None
    usable = replayed is not None and lag is not None
    position = int(replayed) if usable and lag <= settings.DATABASE_REPLICA_MAX_LAG else None
    _replica.seen = _Seen(time.monotonic(), position)
    return position


class _Routing:
    """One request: where its reads may go, and whether it wrote to the primary."""

    def __init__(self, floor: int):
        self.floor = floor  # its reads need data at least this new (a WAL position)
        self.eligible = False  # may read from the replica at all (set in process_view)
        self.wrote = False
        self._position: int | None = None  # the replica's replay position, as known here
        self._asked = False

    def replica_position(self) -> int | None:
        """The replica's position if this request's reads go there now, else None."""
        if not self.eligible:
            return None
        if self._position is None or self._position < self.floor:
            self._learn_position()
        if self._position is not None and self._position >= self.floor:
            return self._position
        return None

    def _learn_position(self) -> None:
        now = time.monotonic()
        if now < _replica.down_until:
            return
        seen = _replica.seen
        if seen is not None and now - seen.at < FRESH_SECONDS:
            if seen.position is None:  # lagging: skipped until the next question
                return
            if seen.position >= self.floor:
                self._position = seen.position
                return
        if not self._asked:  # the one question of this request
            self._asked = True
            self._position = _ask_replica()

    def spot_write(self, execute, sql, params, many, context):
        """An execute wrapper on the primary's connection: notes any statement that may
        change data."""
        if not self.wrote and may_write(sql):
            self.wrote = True
        return execute(sql, params, many, context)


def primary_position() -> int:
    """The primary's WAL insert position, in bytes: every change committed so far lies
    before it. Always 0 without a replica, where nothing compares positions (no query)."""
    if REPLICA not in settings.DATABASES:
        return 0
    with connections[DEFAULT].cursor() as cursor:
        cursor.execute("SELECT pg_current_wal_insert_lsn() - '0/0'::pg_lsn")
        return int(cursor.fetchone()[0])


def replica_position() -> int | None:
    """The replica's replay position if the current request reads from it, else None (no
    replica, outside a request, or a request that reads the primary)."""
    routing = _current.get()
    return routing.replica_position() if routing is not None else None


def reads_after(position: int) -> None:
    """From now on the current request reads only data at least this new: the primary's
    if the replica has not replayed up to `position`."""
    routing = _current.get()
    if routing is not None:
        routing.floor = max(routing.floor, position)


class ReplicaRouter:
    """Reads to the replica when the current request may read there (see the module's
    rules); writes, and everything outside a request, to the primary."""

    def db_for_read(self, model, **hints):
        routing = _current.get()
        if (
            routing is None
            or model._meta.app_label in PRIMARY_APPS
            or connections[DEFAULT].in_atomic_block
        ):
            return DEFAULT
        return REPLICA if routing.replica_position() is not None else DEFAULT

    def db_for_write(self, model, **hints):
        return DEFAULT

    def allow_relation(self, obj1, obj2, **hints):
        return True  # two copies of one database

    def allow_migrate(self, db, app_label, **hints):
        return db == DEFAULT


class ReplicaMiddleware:
    """Per request: the routing state the router reads, the write spotter on the primary's
    connection, and the cookie with the primary's position after a write. Sits inside
    SessionMiddleware, so that saving a session (every product view changes "recently
    viewed") does not count as the visitor writing."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        routing = _Routing(floor=_cookie_position(request))
        token = _current.set(routing)
        try:
            with connections[DEFAULT].execute_wrapper(routing.spot_write):
                response = self.get_response(request)
        finally:
            _current.reset(token)
        if routing.wrote:
            # If the primary cannot say (it just failed), the visitor gets the 503 page:
            # without the position, their next reads could miss what they wrote.
            response.set_signed_cookie(
                COOKIE,
                str(primary_position()),
                salt=COOKIE,
                max_age=settings.SESSION_COOKIE_AGE,
                secure=settings.SESSION_COOKIE_SECURE,
                httponly=True,
                samesite="Lax",
            )
        return response

    def process_view(self, request, view_func, view_args, view_kwargs):
        routing = _current.get()
        namespaces = set(request.resolver_match.namespaces)
        routing.eligible = request.method in ("GET", "HEAD") and not (
            namespaces & PRIMARY_NAMESPACES
        )


def _cookie_position(request) -> int:
    value = request.get_signed_cookie(COOKIE, default="0", salt=COOKIE)
    return int(value) if value.isdigit() else 0
