from django.contrib import admin

from jobs.models import JobRun


@admin.register(JobRun)
class JobRunAdmin(admin.ModelAdmin):
    """When each scheduled job ran, on which instance, and how it went (read-only)."""

    list_display = ["job", "period", "claimed_by", "claimed_at", "finished_at", "outcome"]
    list_filter = ["job", "claimed_by"]
    date_hierarchy = "period"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
