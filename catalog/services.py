"""Writes for the catalogue: stock deltas, what a visitor looked at, cache generations.

Stock is never read, changed in Python and written back: checkouts take it and admins
receive or write it off with conditional UPDATEs of `stock` itself (here and in
cart.services.order_place), so no change can overwrite another."""

from datetime import timedelta

from django.db import connection, transaction
from django.utils import timezone

from catalog.generations import generation_start
from catalog.models import RECENTLY_VIEWED_LIMIT, RECENTLY_VIEWED_SESSION_KEY, Product, RecentView


def catalog_changed() -> None:
    """Something shown from the catalogue (a name, price, stock, image, category) changed:
    once the change commits, cached catalogue reads start a new generation.

    After commit, so no reader can cache the old rows under the new generation (nor a
    read replica's: catalog/generations.py).
    """
    transaction.on_commit(generation_start)


class StockError(Exception):
    """A stock change the shop refuses; the message says why."""


# One statement: the WHERE refuses a write-off of more than is left (no row comes back).
_ADJUST_SQL = """
UPDATE catalog_product SET stock = stock + %s, updated_at = %s
WHERE id = %s AND stock + %s >= 0
RETURNING stock
"""


def stock_adjust(*, product_id: int, change: int) -> int:
    """Receive (`change` > 0) or write off (`change` < 0) stock; returns the new stock.

    A delta, not a new value: checkouts that take stock between an admin's page load and
    save are kept, where saving the number the admin saw would sell stock twice.
    """
    with connection.cursor() as cursor:
        cursor.execute(_ADJUST_SQL, [change, timezone.now(), product_id, change])
        row = cursor.fetchone()
    if row is None:
        left = Product.objects.filter(pk=product_id).values_list("stock", flat=True).first()
        raise StockError(f"Only {left} in stock: cannot write off {-change}.")
    catalog_changed()
    return row[0]


def recently_viewed_record(*, user, session, product_id: int) -> None:
    """Remember the product at the head of the visitor's recently viewed list.

    One upsert for a logged-in shopper (it follows them to any browser); the session for
    an anonymous visitor.
    """
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
    viewed = session.get(RECENTLY_VIEWED_SESSION_KEY, [])
    if viewed[:1] != [product_id]:
        rest = [pk for pk in viewed if pk != product_id]
        session[RECENTLY_VIEWED_SESSION_KEY] = [product_id, *rest][:RECENTLY_VIEWED_LIMIT]


def recently_viewed_merge(*, session, user) -> None:
    """At login, the anonymous list joins the account's, newest first, in one statement."""
    viewed = session.pop(RECENTLY_VIEWED_SESSION_KEY, [])
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
