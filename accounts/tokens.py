from django.contrib.auth.tokens import PasswordResetTokenGenerator


class EmailConfirmationTokenGenerator(PasswordResetTokenGenerator):
    """Signed, expiring sign-up confirmation links, valid until the email is confirmed.

    Django's reset tokens already change when the password or last login changes; adding
    the verified flag makes a confirmation link single-use.
    """

    key_salt = "accounts.tokens.EmailConfirmationTokenGenerator"

    def _make_hash_value(self, user, timestamp):
        return f"{super()._make_hash_value(user, timestamp)}{user.email_verified}"


email_confirmation_token = EmailConfirmationTokenGenerator()


class EmailChangeTokenGenerator(PasswordResetTokenGenerator):
    """Signed, expiring links that confirm a new login address, sent to that address.

    The hash covers the current and the pending address, so a link works once (confirming
    clears the pending address) and asking for another address voids the earlier links.
    """

    key_salt = "accounts.tokens.EmailChangeTokenGenerator"

    def _make_hash_value(self, user, timestamp):
        return f"{super()._make_hash_value(user, timestamp)}{user.email}{user.pending_email}"


email_change_token = EmailChangeTokenGenerator()
