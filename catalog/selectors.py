"""Reads of the catalogue: every query the shop's pages make for products lives here."""

from django.core.cache import caches
from django.db.models import QuerySet
from django.utils.functional import SimpleLazyObject

from catalog.generations import generation_for_request
from catalog.models import (
    DEFAULT_PER_PAGE,
    DEFAULT_SORT,
    RECENTLY_VIEWED_LIMIT,
    RECENTLY_VIEWED_SESSION_KEY,
    SORT_ORDERS,
    Category,
    Product,
)

# Catalogue reads are cached in each process's memory under the current generation, whose
# number is shared in Redis: a change anywhere starts a new generation for every instance
# at once (catalog.services.catalog_changed, catalog/generations.py). The TTL only bounds a
# change made while Redis was unreachable.
CATALOG_TTL = 300
generation_cache = caches["local"]


def catalog_version(request) -> int:
    """The cache generation this request reads the catalogue under (the newest, or with a
    read replica the newest it has replayed: catalog/generations.py), read once per request."""
    if not hasattr(request, "catalog_version"):
        request.catalog_version = generation_for_request(request)
    return request.catalog_version


def category_list(*, version: int) -> list[Category]:
    """All categories, cached: every page's navigation shows them."""
    key = f"catalog:{version}:categories"
    return generation_cache.get_or_set(key, lambda: list(Category.objects.all()), CATALOG_TTL)


def category_get(*, slug: str, version: int) -> Category | None:
    return next((c for c in category_list(version=version) if c.slug == slug), None)


def listing_shape(*, requested_sort: str, user) -> tuple[str, int]:
    """The sort and page size a listing uses: the one asked for in the URL, else the
    shopper's saved preferences, else the shop's defaults."""
    signed_in = user.is_authenticated
    if requested_sort not in SORT_ORDERS:
        requested_sort = user.default_sort if signed_in else DEFAULT_SORT
    return requested_sort, user.products_per_page if signed_in else DEFAULT_PER_PAGE


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


def product_get(*, slug: str, version: int) -> Product | None:
    """The active product with this slug, or None (inactive products are not shown).

    Cached per catalogue generation: product pages then cost no query for the product.
    """
    key = f"catalog:{version}:product:{slug}"
    product = generation_cache.get(key)
    if product is None:
        product = Product.objects.select_related("category").filter(is_active=True, slug=slug)
        product = product.first()
        if product is not None:
            generation_cache.set(key, product, CATALOG_TTL)
    return product


def recently_viewed(
    *, user, session, version: int, exclude: Product | None = None
) -> tuple[list[int], list[Product]]:
    """The visitor's recently viewed active products, newest first, and their ids.

    For an account: one query joining the views with the products. For an anonymous
    visitor the ids are in the session and the products are loaded lazily, so a page that
    finds the rendered list in the cache makes no query at all.
    """
    excluded = getattr(exclude, "pk", None)
    if user.is_authenticated:
        products = Product.objects.filter(is_active=True, recent_views__user=user)
        if excluded:
            products = products.exclude(pk=excluded)
        products = list(products.order_by("-recent_views__viewed_at")[:RECENTLY_VIEWED_LIMIT])
        return [product.pk for product in products], products
    ids = [pk for pk in session.get(RECENTLY_VIEWED_SESSION_KEY, []) if pk != excluded]
    return ids, SimpleLazyObject(lambda: products_in_order(ids, version=version))


def products_in_order(ids: list[int], *, version: int) -> list[Product]:
    """The active products among `ids`, in that order: from this process's cache of the
    generation, with one query for those it does not hold yet."""
    keys = {pk: f"catalog:{version}:product-id:{pk}" for pk in ids}
    found = generation_cache.get_many(keys.values())
    missing = [pk for pk in ids if keys[pk] not in found]
    if missing:
        fetched = Product.objects.filter(is_active=True).in_bulk(missing)
        fetched = {keys[pk]: product for pk, product in fetched.items()}
        generation_cache.set_many(fetched, CATALOG_TTL)
        found.update(fetched)
    return [found[keys[pk]] for pk in ids if keys[pk] in found]
