"""Writes for the catalogue: what a visitor looked at, and cache generations."""

from datetime import timedelta

from django.db import connection, transaction
from django.utils import timezone

from catalog.generations import generation_start
from catalog.models import Product, RecentView

RECENTLY_VIEWED_LIMIT = 10
SESSION_KEY = "recently_viewed"


def catalog_changed() -> None:
    """Something shown from the catalogue (a name, price, stock, image, category) changed:
    once the change commits, cached catalogue reads start a new generation.

    After commit, so no reader can cache the old rows under the new generation (nor a
    read replica's: catalog/generations.py).
    """
    transaction.on_commit(generation_start)


def recently_viewed_record(*, request, product: Product) -> None:
    """Remember the product at the head of the visitor's recently viewed list.

    One upsert for a logged-in shopper (it follows them to any browser); the session for
    an anonymous visitor.
    """
    if request.user.is_authenticated:
        # One statement (PostgreSQL and SQLite): bulk_create would add BEGIN and COMMIT.
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO catalog_recentview (user_id, product_id, viewed_at) "
                "VALUES (%s, %s, %s) "
                "ON CONFLICT (user_id, product_id) DO UPDATE SET viewed_at = excluded.viewed_at",
                [request.user.pk, product.pk, timezone.now()],
            )
        return
    viewed = request.session.get(SESSION_KEY, [])
    if viewed[:1] != [product.pk]:
        rest = [pk for pk in viewed if pk != product.pk]
        request.session[SESSION_KEY] = [product.pk, *rest][:RECENTLY_VIEWED_LIMIT]


def recently_viewed_merge(*, session, user) -> None:
    """At login, the anonymous list joins the account's, newest first, in one statement."""
    viewed = session.pop(SESSION_KEY, [])
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
