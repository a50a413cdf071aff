from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import render
from django.utils.functional import SimpleLazyObject

from catalog import selectors, services

PRODUCTS_PER_PAGE = 24
MAX_QUERY_LENGTH = 100


def product_list(request, slug=None):
    """Home, category and search results; a logged-in shopper's preferences apply."""
    category = None
    if slug is not None:
        category = selectors.category_get(slug=slug, version=selectors.catalog_version(request))
        if category is None:
            raise Http404("No such category.")
    user = request.user
    # PostgreSQL refuses NUL characters in text; nobody searches for them on purpose.
    query = request.GET.get("q", "").replace("\x00", "").strip()[:MAX_QUERY_LENGTH]
    sort = request.GET.get("sort", "")
    if sort not in selectors.SORT_ORDERS:
        sort = user.default_sort if user.is_authenticated else selectors.DEFAULT_SORT
    per_page = user.products_per_page if user.is_authenticated else PRODUCTS_PER_PAGE
    products = selectors.product_list(category=category, query=query, sort=sort)
    page_number = request.GET.get("page", "1")[:20]
    # Lazy: the template caches the listing, and a cache hit never runs the queries.
    page = SimpleLazyObject(lambda: Paginator(products, per_page).get_page(page_number))
    is_home = category is None and not query
    return render(
        request,
        "catalog/product_list.html",
        {
            "category": category,
            "query": query,
            "sort": sort,
            "sort_orders": {key: label for key, (_order, label) in selectors.SORT_ORDERS.items()},
            "page": page,
            "page_number": page_number,
            "per_page": per_page,
            **(recently_viewed(request) if is_home else {}),
        },
    )


def product_detail(request, slug):
    product = selectors.product_get(slug=slug, version=selectors.catalog_version(request))
    if product is None:
        raise Http404("No such product.")
    context = {"product": product, **recently_viewed(request, exclude=product)}
    services.recently_viewed_record(request=request, product=product)
    return render(request, "catalog/product_detail.html", context)


def recently_viewed(request, exclude=None) -> dict:
    """The list and the ids that key its cached rendering."""
    version = selectors.catalog_version(request)
    ids, products = selectors.recently_viewed(request=request, version=version, exclude=exclude)
    return {"recently_viewed_ids": ids, "recently_viewed": products}
