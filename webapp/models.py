from django.db import models


class Release(models.Model):
    """A release whose one-time steps (migrations) have run; later instances skip them.

    Written by `manage.py release`, under a PostgreSQL advisory lock, after the steps
    succeeded: a release with no row here has not finished its steps.
    """

    version = models.CharField(max_length=64, unique=True)
    applied_at = models.DateTimeField(auto_now_add=True)
    applied_by = models.CharField(max_length=100, help_text="The instance that ran the steps.")

    class Meta:
        ordering = ["-applied_at"]

    def __str__(self):
        return self.version
