"""Writes for the catalogue: stock deltas, what a visitor looked at, cache generations,
recommendations.

Stock is never read, changed in Python and written back: checkouts take it and admins
receive or write it off with conditional UPDATEs of `stock` itself (stock_take,
stock_adjust), so no change can overwrite another."""

import secrets
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import Count
from django.utils import timezone

from cart.models import Order
from catalog.generations import generation_start
from catalog.models import (
    HISTORY_DAYS,
    PICKS_KEPT,
    PICKS_RANKED_SQL,
    RECENTLY_VIEWED_LIMIT,
    RECOMMENDATIONS_KEPT,
    VISITOR_SESSION_KEY,
    Pick,
    Product,
    RecentView,
    Recommendation,
    recently_viewed_cache_key,
    stock_shown,
)


def catalog_changed() -> None:
    """Something shown from the catalogue (a name, price, stock, image, category) changed:
    once the change commits, cached catalogue reads start a new generation.

    After commit, so no reader can cache the old rows under the new generation (nor a
    read replica's: catalog/generations.py).
    """
    transaction.on_commit(generation_start)


class StockError(Exception):
    """A stock change the shop refuses; the message says why."""


# One statement, under the row's lock: the WHERE refuses a change that would leave less
# than nothing (no row comes back), and RETURNING tells the stock this change left.
_CHANGE_SQL = """
UPDATE catalog_product SET stock = stock + %(change)s, updated_at = %(now)s
WHERE id = %(id)s AND stock + %(change)s >= 0 AND (is_active OR NOT %(for_sale)s)
RETURNING stock
"""


def _stock_change(*, product_id: int, change: int, for_sale: bool) -> int | None:
    """Apply a delta; the new stock, or None when refused. Cached pages start a new
    generation only if the change alters what they show (catalog.models.stock_shown)."""
    with connection.cursor() as cursor:
        cursor.execute(
            _CHANGE_SQL,
            {"change": change, "now": timezone.now(), "id": product_id, "for_sale": for_sale},
        )
        row = cursor.fetchone()
    if row is None:
        return None
    (stock,) = row
    if stock_shown(stock - change) != stock_shown(stock):
        catalog_changed()
    return stock


def stock_adjust(*, product_id: int, change: int) -> int:
    """Receive (`change` > 0) or write off (`change` < 0) stock, or take back an order's;
    returns the new stock.

    A delta, not a new value: checkouts that take stock between an admin's page load and
    save are kept, where saving the number the admin saw would sell stock twice.
    """
    stock = _stock_change(product_id=product_id, change=change, for_sale=False)
    if stock is None:
        left = Product.objects.filter(pk=product_id).values_list("stock", flat=True).first()
        raise StockError(f"Only {left} in stock: cannot write off {-change}.")
    return stock


def stock_take(*, product_id: int, quantity: int) -> bool:
    """Take `quantity` of a product on sale for an order; False, taking nothing, when fewer
    are left (or it is no longer for sale)."""
    return _stock_change(product_id=product_id, change=-quantity, for_sale=True) is not None


def recently_viewed_record(
    *, user, session, product_id: int, latest: int | None, others: list[int]
) -> None:
    """Put the product at the head of the visitor's recently viewed list. `latest` is the
    product viewed last and `others` the rest of the list (the page has read both).

    Nothing to write when the product is already at the head (a repeat view). Else one
    upsert for a signed-in shopper (the list follows them to any browser, and feeds the
    recommendations); for an anonymous visitor one write to the shared cache, never the
    session (soft state: a Redis failover may lose the last views, nothing else).
    """
    if latest == product_id:
        return
    if user.is_authenticated:
        # One statement (PostgreSQL and SQLite): bulk_create would add BEGIN and COMMIT.
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO catalog_recentview (user_id, product_id, viewed_at) "
                "VALUES (%s, %s, %s) "
                "ON CONFLICT (user_id, product_id) DO UPDATE SET viewed_at = excluded.viewed_at",
                [user.pk, product_id, timezone.now()],
            )
        return
    if VISITOR_SESSION_KEY not in session:  # a first view: the session is new anyway
        session[VISITOR_SESSION_KEY] = secrets.token_urlsafe(16)
    viewed = [product_id, *(pk for pk in others if pk != product_id)][:RECENTLY_VIEWED_LIMIT]
    cache.set(
        recently_viewed_cache_key(session[VISITOR_SESSION_KEY]),
        viewed,
        settings.SESSION_COOKIE_AGE,
    )


def recently_viewed_merge(*, session, user) -> None:
    """At login, the anonymous list joins the account's, newest first, in one statement."""
    visitor = session.get(VISITOR_SESSION_KEY)
    viewed = cache.get(recently_viewed_cache_key(visitor), []) if visitor else []
    if not viewed:
        return
    now = timezone.now()
    existing = set(Product.objects.filter(pk__in=viewed).values_list("pk", flat=True))
    RecentView.objects.bulk_create(
        [
            RecentView(user=user, product_id=pk, viewed_at=now - timedelta(microseconds=rank))
            for rank, pk in enumerate(viewed)
            if pk in existing
        ],
        update_conflicts=True,
        unique_fields=["user", "product"],
        update_fields=["viewed_at"],
    )
    cache.delete(recently_viewed_cache_key(visitor))


# Pairs of different products in one order, counted once per order; cancelled orders say
# nothing about what goes together. The RECOMMENDATIONS_KEPT strongest per product are kept,
# ties broken by product id so that a run is reproducible.
_ALSO_BOUGHT_SQL = """
INSERT INTO catalog_recommendation (product_id, recommended_id, kind, score)
SELECT product_id, recommended_id, %(kind)s, score FROM (
    SELECT a.product_id, b.product_id AS recommended_id, COUNT(DISTINCT a.order_id) AS score,
           ROW_NUMBER() OVER (
               PARTITION BY a.product_id ORDER BY COUNT(DISTINCT a.order_id) DESC, b.product_id
           ) AS rank
    FROM cart_orderline a
    JOIN cart_orderline b ON b.order_id = a.order_id AND b.product_id <> a.product_id
    JOIN cart_order o ON o.id = a.order_id
    WHERE o.status <> %(cancelled)s
    GROUP BY a.product_id, b.product_id
) pairs
WHERE rank <= %(kept)s
"""
# Pairs of different products in one shopper's recently viewed history, counted once per
# shopper (a shopper has one row per product).
_VIEWED_TOGETHER_SQL = """
INSERT INTO catalog_recommendation (product_id, recommended_id, kind, score)
SELECT product_id, recommended_id, %(kind)s, score FROM (
    SELECT a.product_id, b.product_id AS recommended_id, COUNT(*) AS score,
           ROW_NUMBER() OVER (
               PARTITION BY a.product_id ORDER BY COUNT(*) DESC, b.product_id
           ) AS rank
    FROM catalog_recentview a
    JOIN catalog_recentview b ON b.user_id = a.user_id AND b.product_id <> a.product_id
    WHERE a.viewed_at >= %(since)s AND b.viewed_at >= %(since)s
    GROUP BY a.product_id, b.product_id
) pairs
WHERE rank <= %(kept)s
"""
# A shopper's history is what they viewed lately and what they ordered, ranked by the one
# rule (PICKS_RANKED_SQL). Closed accounts get none.
_PICKS_SQL = f"""
WITH history AS (
    SELECT user_id AS owner, product_id FROM catalog_recentview WHERE viewed_at >= %(since)s
    UNION
    SELECT o.user_id, l.product_id FROM cart_orderline l JOIN cart_order o ON o.id = l.order_id
    WHERE o.user_id IS NOT NULL AND o.status <> %(cancelled)s
)
INSERT INTO catalog_pick (user_id, product_id, score)
SELECT picks.owner, picks.product_id, picks.score FROM ({PICKS_RANKED_SQL}) picks
JOIN accounts_user u ON u.id = picks.owner AND u.is_active AND u.erased_at IS NULL
WHERE picks.rank <= %(kept)s
"""  # noqa: S608 (constants only: every value is a parameter)


def recommendations_refresh() -> str:
    """Recompute every recommendation and pick from the stored history (order lines and
    recently viewed), replacing the previous run's in one transaction; returns a line for
    the job's log. Readers see the old set or the new one, never a mix, and the new one
    from the next catalogue cache generation on."""
    params = {
        "cancelled": Order.Status.CANCELLED,
        "since": timezone.now() - timedelta(days=HISTORY_DAYS),
    }
    with transaction.atomic(), connection.cursor() as cursor:
        Pick.objects.all().delete()
        Recommendation.objects.all().delete()
        kinds = [
            (Recommendation.Kind.ALSO_BOUGHT, _ALSO_BOUGHT_SQL),
            (Recommendation.Kind.VIEWED_TOGETHER, _VIEWED_TOGETHER_SQL),
        ]
        for kind, sql in kinds:
            cursor.execute(sql, {**params, "kind": kind, "kept": RECOMMENDATIONS_KEPT})
        cursor.execute(_PICKS_SQL, {**params, "kept": PICKS_KEPT})
        catalog_changed()
    found = dict(Recommendation.objects.values_list("kind").annotate(n=Count("*")))
    return (
        f"{found.get(Recommendation.Kind.ALSO_BOUGHT, 0)} also-bought and "
        f"{found.get(Recommendation.Kind.VIEWED_TOGETHER, 0)} viewed-together recommendations, "
        f"{Pick.objects.count()} picks for shoppers"
    )
