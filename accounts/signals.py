"""What a sign-in records: the device, for the signed-in devices page."""

from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver

from webapp.clientip import client_ip, masked
from webapp.sessions import device_record


@receiver(user_logged_in)
def note_the_device(sender, request, user, **kwargs):
    if request is not None:
        device_record(
            request.session,
            user_agent=request.headers.get("User-Agent", ""),
            place=masked(client_ip(request)),
        )
