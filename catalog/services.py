"""Writes for the catalogue: stock deltas, what a visitor looked at, cache generations,
recommendations.

Stock is never read, changed in Python and written back: checkouts take it and admins
receive or write it off with conditional UPDATEs of `stock` itself (stock_take,
stock_adjust), so no change can overwrite another."""

import secrets
import time
from datetime import UTC, datetime, timedelta
from operator import itemgetter

from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import DatabaseError, connection, transaction
from django.db.models import Count
from django.utils import timezone

from cart.models import Order
from catalog import history
from catalog.generations import generation_start
from catalog.models import (
    HISTORY_DAYS,
    PICKS_KEPT,
    PICKS_RANKED_SQL,
    RECOMMENDATIONS_KEPT,
    VISITOR_SESSION_KEY,
    Pick,
    Product,
    RecentView,
    Recommendation,
    stock_shown,
)
from catalog.selectors import account_viewed, visitor_viewed


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


def recently_viewed_record(*, user, session, product_id: int, viewed: history.Viewed) -> None:
    """Put the product at the head of the visitor's recently viewed list, `viewed` (the
    page has read it).

    Nothing to write when the product is already at the head (a repeat view). Else one
    Redis round trip (catalog/history.py): soft state, for an anonymous visitor and a
    signed-in shopper alike; a shopper's list is saved to PostgreSQL by the workers
    (recently_viewed_save), never by the request.
    """
    if viewed and viewed[0][0] == product_id:
        return
    now = time.time()
    viewed = [(product_id, now), *(view for view in viewed if view[0] != product_id)]
    if user.is_authenticated:
        _account_list_write(user.pk, viewed)
        return
    if VISITOR_SESSION_KEY not in session:  # a first view: the session is new anyway
        session[VISITOR_SESSION_KEY] = secrets.token_urlsafe(16)
    history.write(history.visitor_key(session[VISITOR_SESSION_KEY]), viewed[: history.KEPT])


def recently_viewed_merge(*, session, user) -> None:
    """At login, the anonymous list joins the account's, newest first."""
    anonymous = visitor_viewed(session)
    if not anonymous:
        return
    newest = dict(sorted([*account_viewed(user.pk), *anonymous], key=itemgetter(1)))
    _account_list_write(user.pk, sorted(newest.items(), key=itemgetter(1), reverse=True))
    history.delete(history.visitor_key(session[VISITOR_SESSION_KEY]))


def _account_list_write(user_id: int, viewed: history.Viewed) -> None:
    """Hold the account's list in Redis, marked for the workers to save; saved at once
    when there is no Redis for them to find the mark in."""
    kept = viewed[: history.KEPT]
    if not history.write(history.account_key(user_id), kept, unsaved_account=user_id):
        _accounts_save({user_id: kept})


# Accounts saved per statement by recently_viewed_save.
SAVE_BATCH = 500


def recently_viewed_save() -> int:
    """Save the recently viewed lists of the accounts marked unsaved to PostgreSQL; returns
    how many. Every instance's worker calls it about once a second; each account marked is
    taken by one of them, and given back if the save fails.
    """
    saved = 0
    while user_ids := history.unsaved_take(SAVE_BATCH):
        keys = {history.account_key(user_id): user_id for user_id in user_ids}
        lists = {keys[key]: viewed for key, viewed in cache.get_many(list(keys)).items()}
        try:
            _accounts_save(lists)
        except DatabaseError:
            history.unsaved_mark(user_ids)
            raise
        saved += len(user_ids)
    return saved


def _accounts_save(lists: dict[int, history.Viewed]) -> None:
    """One upsert of the lists' views, under a lock on their open accounts' rows: a closed
    account (accounts.services.user_erase locks its row first) gets none of them back."""
    products = {pk for viewed in lists.values() for pk, _at in viewed}
    with transaction.atomic():
        accounts = (
            get_user_model()
            .objects.select_for_update(no_key=True)
            .filter(pk__in=lists, erased_at__isnull=True)
        )
        open_accounts = list(accounts.order_by("pk").values_list("pk", flat=True))
        existing = set(Product.objects.filter(pk__in=products).values_list("pk", flat=True))
        RecentView.objects.bulk_create(
            [
                RecentView(
                    user_id=user_id,
                    product_id=pk,
                    viewed_at=datetime.fromtimestamp(at, UTC),
                )
                for user_id in open_accounts
                for pk, at in lists[user_id]
                if pk in existing
            ],
            update_conflicts=True,
            unique_fields=["user", "product"],
            update_fields=["viewed_at"],
        )


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
