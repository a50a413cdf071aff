from django.core.management.base import BaseCommand

from catalog.services import recommendations_refresh


class Command(BaseCommand):
    help = (
        "Recompute the recommendations (also bought, viewed together, picked for you) from "
        "the order and browsing history now, as the scheduled job does."
    )

    def handle(self, *args, **options):
        self.stdout.write(recommendations_refresh())
