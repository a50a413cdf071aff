"""Keep cached catalogue reads in step with edits and templates; carry history into an
account."""

from django.contrib.auth.signals import user_logged_in
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.template.autoreload import get_template_directories
from django.utils.autoreload import file_changed

from catalog.models import Category, Product
from catalog.selectors import generation_cache
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


@receiver(file_changed, dispatch_uid="catalog_rendered_pages_file_changed")
def forget_rendered_pages(sender, file_path, **kwargs):
    """runserver (`make run`): an edited template shows on the next request, as Django
    makes it for its own template loaders, not once the cached shells and cards expire."""
    if file_path.suffix != ".py" and any(
        directory in file_path.parents for directory in get_template_directories()
    ):
        generation_cache.clear()
