"""`manage.py staff_second_factor EMAIL`: a staff member's second factor for the admin."""

import io

import qrcode
from django.core.management.base import BaseCommand, CommandError

from accounts.models import User, normalize_email
from accounts.services import staff_second_factor_enroll


class Command(BaseCommand):
    help = (
        "Give a staff member a new authenticator-app secret and recovery codes for the admin "
        "(replacing any they had), and print them with a QR code to scan."
    )

    def add_arguments(self, parser):
        parser.add_argument("email")

    def handle(self, *args, email, **options):
        user = User.objects.filter(email=normalize_email(email)).first()
        if user is None or not user.is_staff:
            raise CommandError(f"No staff user {email}: create one first (createsuperuser).")
        url, codes = staff_second_factor_enroll(user=user)
        code = qrcode.QRCode(border=1)
        code.add_data(url)
        picture = io.StringIO()
        code.print_ascii(out=picture, invert=True)
        self.stdout.write("Scan this with an authenticator app (or enter the URL below):")
        self.stdout.write(picture.getvalue())
        self.stdout.write(url)
        self.stdout.write("Recovery codes, each good once (keep them somewhere safe):")
        self.stdout.write("\n".join(codes))
