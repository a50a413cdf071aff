"""Sessions in PostgreSQL, read through Redis (Django's cached_db), with a cheaper update.

Django saves every session change inside a transaction, which costs BEGIN and COMMIT round
trips around a single UPDATE. An update is one statement and atomic on its own, so this
store sends just the UPDATE (every product view changes "recently viewed"). Creating a
session keeps Django's path: its transaction turns a key collision into a retry.
"""

import logging

from django.contrib.sessions.backends import cached_db
from django.contrib.sessions.backends.base import UpdateError
from django.db import connection

logger = logging.getLogger("django.contrib.sessions")


class SessionStore(cached_db.SessionStore):
    def save(self, must_create=False):
        if must_create or self.session_key is None:
            return super().save(must_create)
        with connection.cursor() as cursor:  # plain SQL: the ORM would double this call's cost
            cursor.execute(
                "UPDATE django_session SET session_data = %s, expire_date = %s "
                "WHERE session_key = %s",
                [self.encode(self._get_session()), self.get_expiry_date(), self.session_key],
            )
            updated = cursor.rowcount
        if not updated:  # deleted meanwhile, e.g. by a logout in another tab
            raise UpdateError
        try:
            self._cache.set(self.cache_key, self._session, self.get_expiry_age())
        except Exception:
            logger.exception("Error saving to cache (%s)", self._cache)
