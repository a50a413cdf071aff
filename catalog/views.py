from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import render

from catalog import selectors, services

PRODUCTS_PER_PAGE = 24
MAX_QUERY_LENGTH = 100


def product_list(request, slug=None):
    """Home, category and search results; a logged-in shopper's preferences apply."""
    category = None
    if slug is not None:
        category = selectors.category_get(slug=slug)
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
    page = Paginator(products, per_page).get_page(request.GET.get("page"))
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
            "recently_viewed": selectors.recently_viewed_list(request=request) if is_home else [],
        },
    )


def product_detail(request, slug):
    product = selectors.product_get(slug=slug)
    if product is None:
        raise Http404("No such product.")
    recently_viewed = selectors.recently_viewed_list(request=request, exclude=product)
    services.recently_viewed_record(request=request, product=product)
    return render(
        request,
        "catalog/product_detail.html",
        {"product": product, "recently_viewed": recently_viewed},
    )
