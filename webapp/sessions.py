"""Sessions in PostgreSQL, read through Redis (Django's cached_db), findable by account.

Every save is one statement. Django saves a session change inside a transaction, which
costs BEGIN and COMMIT round trips around a single UPDATE; an UPDATE is atomic on its own,
so this store sends just the UPDATE (every anonymous product view changes "recently
viewed"). Creating a session keeps Django's path: its transaction turns a key collision
into a retry.

The row's extra columns (webapp.models.Session: the account, the browser and masked address
it signed in from, when, and its last activity) are copied from the session's own data in
that same statement, so "signed-in devices" is one indexed query by account, and the copy
can never disagree with the data. A new session key (login, password change) carries the
data, so it carries the columns too.

Last activity costs at most one write per ACTIVITY_INTERVAL: a signed-in session whose data
was last saved longer ago than that is saved once more by the request that loads it (the
same one UPDATE and its Redis SET); any other save records the activity for free. Requests in
between write nothing.
"""

import logging
import time
from datetime import UTC, datetime

from django.conf import settings
from django.contrib.auth import SESSION_KEY as AUTH_USER_KEY
from django.contrib.sessions.backends import cached_db
from django.contrib.sessions.backends.base import UpdateError
from django.core.cache import caches
from django.db import connection, transaction
from django.utils.dateparse import parse_datetime

from webapp.models import Session

logger = logging.getLogger("django.contrib.sessions")

# Seconds between two writes of a signed-in session's last activity (see the docstring).
ACTIVITY_INTERVAL = 300
ACTIVITY_KEY = "_active"  # in the session's data: when it was last saved (epoch seconds)
DEVICE_KEY = "_device"  # in the session's data: what signed in, from where, when

_UPDATE_SQL = """
UPDATE webapp_session
SET session_data = %s, expire_date = %s, user_id = %s, user_agent = %s, place = %s,
    signed_in_at = %s, last_activity = %s
WHERE session_key = %s
"""


def device_record(session, *, user_agent: str, place: str) -> None:
    """Note, at sign-in, the browser and the (masked) address the session signed in from."""
    session[DEVICE_KEY] = {
        "agent": user_agent[: Session._meta.get_field("user_agent").max_length],
        "place": place,
        "since": datetime.now(UTC).isoformat(),
    }


def sessions_delete(session_keys: list[str]) -> None:
    """End these sessions on every instance at once: their rows, then their cached copies
    (the order Django's own logout uses), so the next request with one of their cookies
    finds no session anywhere. The copies are deleted again once the deletion commits: until
    then another request could still read a row and cache it anew."""
    if not session_keys:
        return
    Session.objects.filter(session_key__in=session_keys).delete()
    cache = caches[settings.SESSION_CACHE_ALIAS]
    cached = [SessionStore.cache_key_prefix + key for key in session_keys]
    cache.delete_many(cached)
    transaction.on_commit(lambda: cache.delete_many(cached))


def _signed_in(data: dict) -> bool:
    return AUTH_USER_KEY in data


def _columns(data: dict) -> dict:
    """The row's extra columns, as the session's data says them."""
    device = data.get(DEVICE_KEY) or {}
    user_id = str(data.get(AUTH_USER_KEY, ""))
    active = data.get(ACTIVITY_KEY)
    return {
        "user_id": int(user_id) if user_id.isdigit() else None,
        "user_agent": device.get("agent", ""),
        "place": device.get("place", ""),
        "signed_in_at": parse_datetime(device["since"]) if "since" in device else None,
        "last_activity": datetime.fromtimestamp(active, UTC) if active else None,
    }


class SessionStore(cached_db.SessionStore):
    @classmethod
    def get_model_class(cls):
        return Session

    def create_model_instance(self, data):
        instance = super().create_model_instance(data)
        for name, value in _columns(data).items():
            setattr(instance, name, value)
        return instance

    def load(self):
        data = super().load()
        if _signed_in(data) and time.time() - data.get(ACTIVITY_KEY, 0) >= ACTIVITY_INTERVAL:
            self.modified = True  # SessionMiddleware saves it, which records the activity
        return data

    def _record_activity(self, data: dict) -> None:
        """The one place last activity is written: into the data this save stores."""
        if _signed_in(data):
            data[ACTIVITY_KEY] = int(time.time())

    def save(self, must_create=False):
        data = self._get_session(no_load=must_create)
        self._record_activity(data)
        if must_create or self.session_key is None:
            return super().save(must_create)
        columns = _columns(data)
        with connection.cursor() as cursor:  # plain SQL: the ORM would double this call's cost
            cursor.execute(
                _UPDATE_SQL,
                [
                    self.encode(data),
                    self.get_expiry_date(),
                    columns["user_id"],
                    columns["user_agent"],
                    columns["place"],
                    columns["signed_in_at"],
                    columns["last_activity"],
                    self.session_key,
                ],
            )
            updated = cursor.rowcount
        if not updated:  # deleted meanwhile, e.g. by a logout in another tab
            raise UpdateError
        try:
            self._cache.set(self.cache_key, self._session, self.get_expiry_age())
        except Exception:
            logger.exception("Error saving to cache (%s)", self._cache)
