"""Reads of the catalogue: every query the shop's pages make for products lives here."""

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from operator import itemgetter
from typing import NamedTuple

from django.core.cache import cache, caches
from django.db import DEFAULT_DB_ALIAS
from django.db.models import Aggregate, JSONField, OuterRef, QuerySet, Subquery
from django.db.models.functions import JSONObject
from django.utils.functional import SimpleLazyObject

from catalog import history
from catalog.generations import generation_for_request
from catalog.models import (
    ALSO_BOUGHT_MIN,
    DEFAULT_PER_PAGE,
    DEFAULT_SORT,
    PICKS_KEPT,
    PICKS_RANKED_SQL,
    RECENTLY_VIEWED_LIMIT,
    RECOMMENDATIONS_SHOWN,
    SORT_ORDERS,
    VISITOR_SESSION_KEY,
    Category,
    Pick,
    Product,
    RecentView,
    Recommendation,
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


class _JSONList(Aggregate):
    """The grouped rows' values as one JSON array (jsonb_agg; json_group_array in SQLite)."""

    function = "JSONB_AGG"
    output_field = JSONField()

    def as_sqlite(self, compiler, connection, **extra_context):
        return super().as_sql(compiler, connection, function="JSON_GROUP_ARRAY", **extra_context)


def _recommended(*, product: OuterRef) -> Subquery:
    """The products recommended for `product` that can be bought now (active, in stock),
    with what a product card shows, as one JSON array: a column of the product's own query."""
    rows = Recommendation.objects.filter(
        product=product, recommended__is_active=True, recommended__stock__gt=0
    )
    card = JSONObject(
        kind="kind",
        score="score",
        id="recommended_id",
        name="recommended__name",
        slug="recommended__slug",
        price="recommended__price",
        stock="recommended__stock",
        image="recommended__image",
    )
    return Subquery(rows.values("product").annotate(cards=_JSONList(card)).values("cards"))


@dataclass(frozen=True)
class Recommended:
    """A block of recommended products on a product page."""

    section: str  # the block's HTML id
    heading: str
    products: list[Product]


SECTIONS = {
    Recommendation.Kind.ALSO_BOUGHT: "also-bought",
    Recommendation.Kind.VIEWED_TOGETHER: "viewed-together",
}


def _recommendations(cards: list[dict] | None) -> Recommended | None:
    """What the product page recommends: the strongest RECOMMENDATIONS_SHOWN products bought
    with it, or, with fewer than ALSO_BOUGHT_MIN of those (too little purchase history),
    those viewed with it, if any; None when there is neither."""
    shown = {kind: [] for kind in Recommendation.Kind}
    for card in sorted(cards or [], key=lambda card: (-card["score"], card["id"])):
        products = shown[card["kind"]]
        if len(products) < RECOMMENDATIONS_SHOWN:
            price = Decimal(str(card["price"])).quantize(Decimal("0.01"))
            fields = {name: card[name] for name in ("id", "name", "slug", "stock", "image")}
            products.append(Product(**fields, price=price, is_active=True))
    kind = Recommendation.Kind.ALSO_BOUGHT
    if len(shown[kind]) < ALSO_BOUGHT_MIN and shown[Recommendation.Kind.VIEWED_TOGETHER]:
        kind = Recommendation.Kind.VIEWED_TOGETHER
    if not shown[kind]:
        return None
    return Recommended(section=SECTIONS[kind], heading=kind.label, products=shown[kind])


def product_get(*, slug: str, version: int) -> Product | None:
    """The active product with this slug, or None (inactive products are not shown), with
    `recommendations`: the products the last recommendations_refresh found bought or viewed
    with it, that can be bought now (a Recommended block, or None).

    One query, cached per catalogue generation: product pages then cost no query for the
    product nor for its recommendations, whatever the size of the catalogue.
    """
    key = f"catalog:{version}:product:{slug}"
    product = generation_cache.get(key)
    if product is None:
        product = (
            Product.objects.select_related("category")
            .filter(is_active=True, slug=slug)
            .annotate(recommended=_recommended(product=OuterRef("pk")))
            .first()
        )
        if product is not None:
            product.recommendations = _recommendations(product.recommended)
            # By id too: recently viewed lists (products_in_order) then find it.
            generation_cache.set_many(
                {key: product, f"catalog:{version}:product-id:{product.pk}": product}, CATALOG_TTL
            )
    return product


class History(NamedTuple):
    """What a visitor looked at lately, newest first, and what the shop picked for them."""

    ids: list[int]  # of the recently viewed products: they key its cached rendering
    recently_viewed: list[Product]
    picked_for_you: list[Product]
    viewed: history.Viewed  # the list as stored, the page's own product included


def recently_viewed(
    *, user, session, version: int, exclude: Product | None = None, picks: bool = False
) -> History:
    """The visitor's recently viewed active products, and with `picks` what is picked for
    them that can be bought now and is not among them: a signed-in shopper's stored picks
    (catalog.models.Pick), an anonymous visitor's from their list (visitor_picks).

    The list comes from Redis (catalog/history.py), an account's from PostgreSQL when Redis
    has lost it; the products from the generation cache, loaded lazily, so a page that
    finds the rendered list and the picks in the cache makes no query at all.
    """
    if user.is_authenticated:
        viewed, picked = _account_history(user.pk, picks=picks, version=version)
    else:
        viewed = visitor_viewed(session)
        picked = visitor_picks(viewed=[pk for pk, _at in viewed], version=version) if picks else []
    excluded = getattr(exclude, "pk", None)
    ids = [pk for pk, _at in viewed if pk != excluded]
    lazy = SimpleLazyObject(lambda: products_in_order(ids, version=version)[:RECENTLY_VIEWED_LIMIT])
    return History(ids, lazy, picked, viewed)


def visitor_picks(*, viewed: list[int], version: int) -> list[Product]:
    """Picked for you, for an anonymous visitor: their recently viewed products ranked by
    the rule the job ranks a shopper's by (PICKS_RANKED_SQL), those that can be bought now.

    One query, cached per catalogue generation and viewed list: the counts it reads change
    only with a new generation, so a repeat view of the home page costs no query.
    """
    if not viewed:
        return []
    key = f"catalog:{version}:visitor-picks:{','.join(map(str, viewed))}"
    picked = generation_cache.get(key)
    if picked is None:
        history_rows = ", ".join(["(0, %s)"] * len(viewed))  # a placeholder per product viewed
        sql = (
            f"WITH history (owner, product_id) AS (VALUES {history_rows}) "  # noqa: S608
            f"SELECT p.* FROM ({PICKS_RANKED_SQL}) picks "
            "JOIN catalog_product p ON p.id = picks.product_id "
            "WHERE p.is_active AND p.stock > 0 ORDER BY picks.rank LIMIT %s"
        )
        picked = list(Product.objects.raw(sql, [*viewed, RECOMMENDATIONS_SHOWN]))
        generation_cache.set(key, picked, CATALOG_TTL)
    return picked


def visitor_viewed(session) -> history.Viewed:
    """An anonymous visitor's recently viewed list, newest first (none before their first
    product view gives them an id)."""
    visitor = session.get(VISITOR_SESSION_KEY)
    return cache.get(history.visitor_key(visitor), []) if visitor else []


def account_viewed(user_id: int) -> history.Viewed:
    """The account's recently viewed list, newest first."""
    return _viewed_or_saved(user_id, cache.get(history.account_key(user_id)))


def _viewed_or_saved(user_id: int, held: history.Viewed | None) -> history.Viewed:
    """`held`, the list Redis answered, else the list from PostgreSQL's primary (a
    replica's copy could predate its last save), which Redis then holds."""
    if held is not None:
        return held
    rows = RecentView.objects.using(DEFAULT_DB_ALIAS).filter(user_id=user_id)
    latest = rows.order_by("-viewed_at", "-id").values_list("product_id", "viewed_at")
    viewed = [(pk, at.timestamp()) for pk, at in latest[: history.KEPT]]
    history.fill(history.account_key(user_id), viewed)
    return viewed


def recently_viewed_export(*, user_id: int) -> list[dict]:
    """Every product the shopper viewed and when, newest first: the saved views with those
    the workers have not saved yet."""
    when = dict(RecentView.objects.filter(user_id=user_id).values_list("product_id", "viewed_at"))
    for pk, epoch in cache.get(history.account_key(user_id), []):
        at = datetime.fromtimestamp(epoch, UTC)
        when[pk] = max(when.get(pk, at), at)
    names = Product.objects.in_bulk(when)
    return [
        {"product": names[pk].name, "viewed_at": at}
        for pk, at in sorted(when.items(), key=itemgetter(1), reverse=True)
        if pk in names
    ]


def _account_history(
    user_id: int, *, picks: bool, version: int
) -> tuple[history.Viewed, list[Product]]:
    """The list, and with `picks` the picks' ids, held in Redis (the ids under the
    generation: a refresh of the picks starts a new one), both in one round trip."""
    viewed_key = history.account_key(user_id)
    picks_key = f"catalog:{version}:picks:{user_id}"
    found = cache.get_many([viewed_key, picks_key] if picks else [viewed_key])
    viewed = _viewed_or_saved(user_id, found.get(viewed_key))
    if not picks:
        return viewed, []
    picked_ids = found.get(picks_key)
    if picked_ids is None:
        ranked = Pick.objects.filter(user_id=user_id).order_by("-score", "product_id")
        picked_ids = list(ranked.values_list("product_id", flat=True)[:PICKS_KEPT])
        cache.set(picks_key, picked_ids, CATALOG_TTL)
    seen = {pk for pk, _at in viewed}
    picked = [
        product
        for product in products_in_order(picked_ids, version=version)
        if product.pk not in seen and product.stock > 0
    ][:RECOMMENDATIONS_SHOWN]
    return viewed, picked


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
