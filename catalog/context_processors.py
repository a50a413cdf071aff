from django.utils.functional import SimpleLazyObject

from catalog.selectors import catalog_version, category_list


def categories(request):
    """The category navigation in every page's header, cached per catalogue generation."""
    version = SimpleLazyObject(lambda: catalog_version(request))
    return {
        "nav_categories": lambda: category_list(version=version),
        "catalog_version": version,
    }
