from django.apps import AppConfig


class CartConfig(AppConfig):
    name = "cart"

    def ready(self):
        from cart import signals  # noqa: F401  (merges the anonymous cart at login)
