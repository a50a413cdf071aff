from django.core.management.base import BaseCommand

from cart.services import carts_purge


class Command(BaseCommand):
    help = "Delete carts nobody has changed for --days days (default 30). Run it daily."

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=30)

    def handle(self, *args, days, **options):
        self.stdout.write(f"Purged {carts_purge(days=days)} cart(s) untouched for {days} days.")
