from django.db import models


class StripeEvent(models.Model):
    """A webhook event from Stripe, recorded once by its id whichever instance took it and
    however often Stripe sent it; a worker applies it (payments.services.event_process)."""

    event_id = models.CharField(max_length=255, unique=True)
    type = models.CharField(max_length=100)
    payload = models.JSONField()
    received_at = models.DateTimeField()
    processed_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-received_at"]

    def __str__(self):
        return f"{self.type} {self.event_id}"
