"""Run a release's one-time steps (migrations) exactly once, however many instances start.

Every instance's bootstrap runs this before it starts gunicorn. The instances of one
release queue on a PostgreSQL advisory lock; the first one migrates and records the
release in `webapp.Release`, and the others, once they get the lock, find the record and
skip. A release whose steps failed has no record, so the next instance tries again.
"""

import os

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, connection, connections

from webapp.models import Release

# One lock for every release: two releases never migrate at the same time either.
ADVISORY_LOCK_KEY = 0x7765_6273_686F_70  # "webshop"


class Command(BaseCommand):
    help = "Run this release's migrations once, whichever instance gets there first."

    def add_arguments(self, parser):
        parser.add_argument(
            "release",
            nargs="?",
            default=os.environ.get("RELEASE_VERSION"),
            help="The release's version (default: $RELEASE_VERSION).",
        )
        parser.add_argument(
            "--instance",
            default=os.environ.get("INSTANCE_ID", "unknown"),
            help="Who runs the steps, for the record (default: $INSTANCE_ID).",
        )

    def handle(self, *args, release, instance, **options):
        if not release:
            raise CommandError("Name the release: `manage.py release <version>`.")
        if connection.vendor != "postgresql":
            raise CommandError("The release step needs PostgreSQL (it takes an advisory lock).")
        # The lock lives on a connection of its own, so nothing the migrations do to the
        # default connection can release it early; closing it releases the lock.
        lock = connections.create_connection(DEFAULT_DB_ALIAS)
        try:
            with lock.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_lock(%s)", [ADVISORY_LOCK_KEY])
            done = recorded(release)
            if done:
                self.stdout.write(
                    f"Release {release}: skipped, migrations already run by {done.applied_by} "
                    f"at {done.applied_at:%Y-%m-%d %H:%M:%S}."
                )
                return
            call_command("migrate", interactive=False, verbosity=options["verbosity"])
            Release.objects.create(version=release, applied_by=instance)
            self.stdout.write(f"Release {release}: migrated by {instance}.")
        finally:
            lock.close()


def recorded(release: str) -> Release | None:
    if Release._meta.db_table not in connection.introspection.table_names():
        return None  # a fresh database: this release's migrations create the table
    return Release.objects.filter(version=release).first()
