from django.conf import settings
from django.contrib.sessions.base_session import AbstractBaseSession
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


class Session(AbstractBaseSession):
    """A visitor's session (Django's columns), findable by account for "signed-in devices".

    The extra columns are copies of what the session's own data says (webapp.sessions
    writes them in the statement that saves the data), so they can never disagree with it,
    and a new session key (login, password change) carries them over.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
    )
    user_agent = models.CharField(max_length=500, blank=True)
    place = models.CharField(
        max_length=50, blank=True, help_text="The client address at sign-in, masked."
    )
    signed_in_at = models.DateTimeField(null=True, blank=True)
    last_activity = models.DateTimeField(null=True, blank=True)

    @classmethod
    def get_session_store_class(cls):
        from webapp.sessions import SessionStore

        return SessionStore
