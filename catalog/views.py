from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import render

from catalog import selectors

PRODUCTS_PER_PAGE = 24
MAX_QUERY_LENGTH = 100


def product_list(request, slug=None):
    category = None
    if slug is not None:
        category = selectors.category_get(slug=slug)
        if category is None:
            raise Http404("No such category.")
    # PostgreSQL refuses NUL characters in text; nobody searches for them on purpose.
    query = request.GET.get("q", "").replace("\x00", "").strip()[:MAX_QUERY_LENGTH]
    sort = request.GET.get("sort", "")
    if sort not in selectors.SORT_ORDERS:
        sort = selectors.DEFAULT_SORT
    products = selectors.product_list(category=category, query=query, sort=sort)
    page = Paginator(products, PRODUCTS_PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "catalog/product_list.html",
        {
            "category": category,
            "query": query,
            "sort": sort,
            "sort_orders": {key: label for key, (_order, label) in selectors.SORT_ORDERS.items()},
            "page": page,
        },
    )


def product_detail(request, slug):
    product = selectors.product_get(slug=slug)
    if product is None:
        raise Http404("No such product.")
    return render(request, "catalog/product_detail.html", {"product": product})
