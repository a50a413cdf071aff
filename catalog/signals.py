"""Keep cached catalogue reads in step with edits; carry history into an account."""

from django.contrib.auth.signals import user_logged_in
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from catalog.models import Category, Product
from catalog.services import catalog_changed, recently_viewed_merge


@receiver([post_save, post_delete], sender=Category)
@receiver([post_save, post_delete], sender=Product)
def start_new_cache_generation(**kwargs):
    """Admin edits (and any other save) show at once: queryset.update() sends no signal,
    so code that updates products in bulk calls catalog_changed() itself."""
    catalog_changed()


@receiver(user_logged_in)
def keep_recently_viewed(sender, request, user, **kwargs):
    if request is not None:
        recently_viewed_merge(session=request.session, user=user)
