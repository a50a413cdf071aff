from django.contrib import admin

from payments.models import StripeEvent


@admin.register(StripeEvent)
class StripeEventAdmin(admin.ModelAdmin):
    """What Stripe told the shop and what the worker did with it; read-only (the events
    are the record the saga's transitions were decided on)."""

    list_display = ["event_id", "type", "received_at", "processed_at", "outcome"]
    list_filter = ["type", "outcome"]
    search_fields = ["event_id"]
    readonly_fields = ["event_id", "type", "payload", "received_at", "processed_at", "outcome"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
