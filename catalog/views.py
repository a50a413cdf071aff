from django.core.paginator import Paginator
from django.http import Http404
from django.utils.functional import SimpleLazyObject

from cart.forms import AddToCartForm
from catalog import selectors, services
from catalog.models import SORT_ORDERS
from catalog.pages import render

MAX_QUERY_LENGTH = 100
SORT_LABELS = {key: label for key, (_order, label) in SORT_ORDERS.items()}
# The quantity input's bounds come from the form that validates it.
QUANTITY_FIELD = AddToCartForm.base_fields["quantity"]


def product_list(request, slug=None):
    """Home, category and search results; a logged-in shopper's preferences apply."""
    category = None
    if slug is not None:
        category = selectors.category_get(slug=slug, version=selectors.catalog_version(request))
        if category is None:
            raise Http404("No such category.")
    # PostgreSQL refuses NUL characters in text; nobody searches for them on purpose.
    query = request.GET.get("q", "").replace("\x00", "").strip()[:MAX_QUERY_LENGTH]
    sort, per_page = selectors.listing_shape(
        requested_sort=request.GET.get("sort", ""), user=request.user
    )
    page_number = request.GET.get("page", "1")[:20]
    # Lazy, the queryset too: a cached page shell neither runs the queries nor builds them
    # (building the queryset was 8% of the home page).
    page = SimpleLazyObject(
        lambda: Paginator(
            selectors.product_list(category=category, query=query, sort=sort), per_page
        ).get_page(page_number)
    )
    is_home = category is None and not query
    return render(
        request,
        "catalog/product_list.html",
        {
            "category": category,
            "query": query,
            "sort": sort,
            "sort_orders": SORT_LABELS,
            "page": page,
            "page_number": page_number,
            "per_page": per_page,
            **(_history_context(_history(request, picks=True)) if is_home else {}),
        },
        shows=(category and category.pk, query, sort, page_number, per_page),
    )


def product_detail(request, slug):
    product = selectors.product_get(slug=slug, version=selectors.catalog_version(request))
    if product is None:
        raise Http404("No such product.")
    history = _history(request, exclude=product)
    context = {"product": product, "quantity_field": QUANTITY_FIELD, **_history_context(history)}
    services.recently_viewed_record(
        user=request.user,
        session=request.session,
        product_id=product.pk,
        viewed=history.viewed,
    )
    return render(request, "catalog/product_detail.html", context, shows=(product.pk,))


def _history(request, exclude=None, picks=False) -> selectors.History:
    return selectors.recently_viewed(
        user=request.user,
        session=request.session,
        version=selectors.catalog_version(request),
        exclude=exclude,
        picks=picks,
    )


def _history_context(history: selectors.History) -> dict:
    """The list, the ids that key its cached rendering, and picked for you."""
    return {
        "recently_viewed_ids": history.ids,
        "recently_viewed": history.recently_viewed,
        "picked_for_you": history.picked_for_you,
    }
