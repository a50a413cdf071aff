"""Reads of the catalogue: every query the shop's pages make for products lives here."""

from django.core.cache import cache
from django.db.models import QuerySet

from catalog.models import Category, Product
from catalog.services import RECENTLY_VIEWED_LIMIT, SESSION_KEY

# Sort orders a shopper can pick: key -> (ORDER BY, label).
SORT_ORDERS = {
    "name": (("name", "id"), "Name"),
    "price": (("price", "id"), "Price: low to high"),
    "-price": (("-price", "id"), "Price: high to low"),
    "newest": (("-created_at", "-id"), "Newest"),
}
DEFAULT_SORT = "name"
CATEGORIES_CACHE_KEY = "catalog:categories"


def category_list() -> list[Category]:
    """All categories, cached: every page's navigation shows them."""
    return cache.get_or_set(CATEGORIES_CACHE_KEY, lambda: list(Category.objects.all()), 3600)


def category_get(*, slug: str) -> Category | None:
    return next((category for category in category_list() if category.slug == slug), None)


def product_list(
    *, category: Category | None = None, query: str = "", sort: str = DEFAULT_SORT
) -> QuerySet[Product]:
    """Active products, filtered and sorted the way the list page shows them."""
    products = Product.objects.filter(is_active=True).select_related("category")
    if category is not None:
        products = products.filter(category=category)
    if query:
        products = products.filter(name__icontains=query)
    order, _label = SORT_ORDERS.get(sort, SORT_ORDERS[DEFAULT_SORT])
    return products.order_by(*order)


def product_get(*, slug: str) -> Product | None:
    """The active product with this slug, or None (inactive products are not shown)."""
    return Product.objects.select_related("category").filter(is_active=True, slug=slug).first()


def recently_viewed_list(*, request, exclude: Product | None = None) -> list[Product]:
    """The visitor's recently viewed active products, newest first, in one query."""
    excluded = exclude.pk if exclude else None
    if request.user.is_authenticated:
        products = Product.objects.filter(is_active=True, recent_views__user=request.user)
        if excluded:
            products = products.exclude(pk=excluded)
        return list(products.order_by("-recent_views__viewed_at")[:RECENTLY_VIEWED_LIMIT])
    viewed = [pk for pk in request.session.get(SESSION_KEY, []) if pk != excluded]
    if not viewed:
        return []
    found = Product.objects.filter(is_active=True).in_bulk(viewed)
    return [found[pk] for pk in viewed if pk in found]
