from django.contrib import admin, messages

from notifications import services
from notifications.models import Email


@admin.register(Email)
class EmailAdmin(admin.ModelAdmin):
    """The queue and its dead letters. Read-only: bodies hold sign-in and password-reset
    links, so the admin never shows them; a dead letter's error says what went wrong."""

    list_display = ["kind", "to", "status", "attempts", "created_at", "sent_at", "last_error"]
    list_filter = ["status", "kind"]
    search_fields = ["to"]
    date_hierarchy = "created_at"
    fields = [
        "kind",
        "to",
        "subject",
        "status",
        "attempts",
        "next_attempt_at",
        "claimed_until",
        "last_error",
        "created_at",
        "sent_at",
        "key",
    ]
    readonly_fields = fields
    actions = ["retry"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_retry_permission(self, request):
        return request.user.has_perm("notifications.change_email")

    @admin.action(description="Retry delivery (dead letters)", permissions=["retry"])
    def retry(self, request, queryset):
        retried = [e.pk for e in queryset.order_by("pk") if services.email_retry(email_id=e.pk)]
        skipped = queryset.count() - len(retried)
        if retried:
            self.message_user(request, f"{len(retried)} email(s) queued again.")
        if skipped:
            self.message_user(
                request, f"{skipped} email(s) left alone: not dead letters.", messages.WARNING
            )
