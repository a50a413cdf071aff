from django.core.management.base import BaseCommand

from catalog.demo import seed_demo_catalogue


class Command(BaseCommand):
    help = "Create the demo catalogue (about 200 products in 10 categories). Safe to rerun."

    def handle(self, *args, **options):
        created, existing = seed_demo_catalogue()
        self.stdout.write(f"Demo catalogue: {created} products created, {existing} already there.")
