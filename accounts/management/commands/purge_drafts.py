from django.core.management.base import BaseCommand

from accounts.models import DRAFT_TTL_DAYS
from accounts.services import drafts_purge


class Command(BaseCommand):
    help = f"Delete form drafts nobody touched for {DRAFT_TTL_DAYS} days. Run it daily."

    def handle(self, *args, **options):
        self.stdout.write(f"Purged {drafts_purge()} draft(s) untouched for {DRAFT_TTL_DAYS} days.")
