from django.core.management.base import BaseCommand

from notifications.selectors import email_queue_stats


class Command(BaseCommand):
    help = "Print the mail queue's depth, its oldest pending message's age and the dead letters."

    def handle(self, *args, **options):
        self.stdout.write(str(email_queue_stats()))
