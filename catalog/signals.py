"""Keep cached catalogue reads in step with admin edits; carry history into an account."""

from django.contrib.auth.signals import user_logged_in
from django.core.cache import cache
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from catalog.models import Category
from catalog.selectors import CATEGORIES_CACHE_KEY
from catalog.services import recently_viewed_merge


@receiver([post_save, post_delete], sender=Category)
def forget_categories(**kwargs):
    cache.delete(CATEGORIES_CACHE_KEY)


@receiver(user_logged_in)
def keep_recently_viewed(sender, request, user, **kwargs):
    if request is not None:
        recently_viewed_merge(session=request.session, user=user)
