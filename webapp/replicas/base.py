"""The database backend of the `replica` alias: PostgreSQL's, except that a read the
replica cannot answer runs on the primary instead.

The router sends only reads outside transactions here, so running one again elsewhere is
safe. A replica that goes away between a request's position check and its queries (it was
stopped, restarted, or its connection died) then costs that request nothing but a second
round trip, and the replica is skipped for a while (webapp.replicas.replica_failed).
"""

from django.db import InterfaceError, OperationalError, connections
from django.db.backends.postgresql import base
from django.db.backends.utils import CursorDebugWrapper, CursorWrapper

from webapp.replicas import DEFAULT, replica_failed

# Connection lost, refused, shut down by an operator, or a query cancelled by recovery.
LOST = (OperationalError, InterfaceError)


class DatabaseWrapper(base.DatabaseWrapper):
    def cursor(self):
        try:
            return super().cursor()
        except LOST:  # no connection could be made
            replica_failed()
            return connections[DEFAULT].cursor()

    def make_cursor(self, cursor):
        return PrimaryFallbackCursor(cursor, self)

    def make_debug_cursor(self, cursor):
        return PrimaryFallbackDebugCursor(cursor, self)


class _FallsBackToPrimary:
    def execute(self, sql, params=None):
        try:
            return super().execute(sql, params)
        except LOST:
            if self.db.alias == DEFAULT:  # already on the primary: a real failure
                raise
            replica_failed()
            primary = connections[DEFAULT].cursor()
            self.db, self.cursor = primary.db, primary.cursor
            return super().execute(sql, params)


class PrimaryFallbackCursor(_FallsBackToPrimary, CursorWrapper):
    pass


class PrimaryFallbackDebugCursor(_FallsBackToPrimary, CursorDebugWrapper):
    pass
