"""What the benchmark sets up inside the shop: catalogue, shoppers, their sessions and carts.

Database work goes through the project's own models and settings in this process (after
`django_setup`); sessions are made over HTTP with requests, as a browser makes them, so
the cookies wrk replays are real ones.
"""

import os
import secrets
from dataclasses import dataclass
from urllib.parse import urlencode

import requests

from deploy.servers.client import CSRF_FIELD, ShopClient

# Stock large enough that no add-to-cart run ever meets it; the 50-per-line cap is met
# by rotating over products instead (bench/harness.py).
BENCH_STOCK = 1_000_000
BULK_BATCH = 5_000


def django_setup(environment: dict[str, str]) -> None:
    """Load the project's settings against the benchmark's servers, then build the shop:
    schema, static files (whitenoise serves them), the demo catalogue."""
    os.environ.update(environment)
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", interactive=False, verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    call_command("seed_demo", verbosity=0)
    from catalog.models import Product

    Product.objects.update(stock=BENCH_STOCK)


@dataclass(frozen=True)
class Shopper:
    email: str
    password: str


def shopper_create(name: str) -> Shopper:
    """An active, confirmed account hashed with the production hasher (PBKDF2)."""
    from accounts.models import User

    shopper = Shopper(email=f"{name}@bench.invalid", password=secrets.token_urlsafe(16))
    User.objects.create_user(shopper.email, shopper.password, is_active=True, email_verified=True)
    return shopper


def catalogue_paths(limit: int) -> dict[str, list[str]]:
    """URLs a visitor walks: products spread over every category, the categories, searches."""
    from catalog.models import Category, Product

    products = list(Product.objects.filter(is_active=True).order_by("pk"))
    step = max(1, len(products) // limit)
    return {
        "products": [p.get_absolute_url() for p in products[::step][:limit]],
        "product_ids": [str(p.pk) for p in products],
        "categories": [c.get_absolute_url() for c in Category.objects.order_by("pk")],
    }


def active_products() -> int:
    from catalog.models import Product

    return Product.objects.filter(is_active=True).count()


def search_paths(terms: list[str]) -> list[str]:
    return ["/?" + urlencode({"q": term}) for term in terms]


class Browser(ShopClient):
    """A browser that keeps its cookies, for preparing the sessions wrk replays; a page
    that does not answer as expected stops the benchmark."""

    def get(self, path: str, expect: int = 200, **kwargs) -> requests.Response:
        return _expect(super().get(path, **kwargs), expect)

    def post(self, path: str, data: dict, expect: int = 302, **kwargs) -> requests.Response:
        return _expect(super().post(path, data, **kwargs), expect)

    def log_in(self, shopper: Shopper) -> "Browser":
        self.post("/accounts/login/", {"username": shopper.email, "password": shopper.password})
        return self

    @property
    def csrf_token(self) -> str:
        return self.csrf()[CSRF_FIELD]


def _expect(response: requests.Response, status: int) -> requests.Response:
    if response.status_code != status:
        raise RuntimeError(
            f"preparing the benchmark: {response.request.method} {response.url} answered "
            f"{response.status_code}, expected {status}"
        )
    return response


def cart_id(shopper: Shopper) -> int:
    from cart.models import Cart

    return Cart.objects.get(user__email=shopper.email).pk


def cart_empty(cart: int) -> None:
    """Remove every line (and the cached count) so a run starts from a known total."""
    from django.core.cache import cache

    from cart.models import CartLine, count_cache_key

    CartLine.objects.filter(cart_id=cart).delete()
    cache.delete(count_cache_key(cart))


def cart_total(cart: int) -> tuple[int, int]:
    """Units and lines in a cart, read from PostgreSQL (the truth, not the cache)."""
    from django.db.models import Count, Sum

    from cart.models import CartLine

    totals = CartLine.objects.filter(cart_id=cart).aggregate(units=Sum("quantity"), n=Count("pk"))
    return totals["units"] or 0, totals["n"]


def catalogue_grow(total: int) -> int:
    """Grow the catalogue to `total` active products with bulk inserts; returns how many
    were added. Names reuse the demo vocabulary with a model number, so searches match a
    share of the large catalogue as they do of the small one."""
    from django.db import connection

    from catalog.models import Product
    from catalog.services import catalog_changed

    existing = Product.objects.count()
    models = list(Product.objects.order_by("pk"))
    batch = []
    for n in range(existing, total):
        model = models[n % len(models)]
        batch.append(
            Product(
                category_id=model.category_id,
                name=f"{model.name} No. {n}",
                slug=f"{model.slug}-{n}",
                description=model.description,
                price=model.price,
                image=model.image.name,
                stock=BENCH_STOCK,
            )
        )
        if len(batch) == BULK_BATCH:
            Product.objects.bulk_create(batch)
            batch = []
    Product.objects.bulk_create(batch)
    catalog_changed()  # bulk inserts send no signal: the pages start a new generation now
    with connection.cursor() as cursor:
        # What autovacuum would have done long before a real shop reached this size.
        cursor.execute("VACUUM ANALYZE catalog_product")
    return total - existing


def _nodes():
    """The database connections of this process: the primary, and the replica if any."""
    from django.db import connections

    return {
        "primary": connections["default"],
        **({"replica": connections["replica"]} if "replica" in connections else {}),
    }


def statements_reset() -> None:
    for connection in _nodes().values():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_stat_statements_reset()")


def statements_per_request(requests: int, top: int = 3) -> dict:
    """Queries per request, database time per request, the share the replica ran, and the
    costliest statements, from each node's pg_stat_statements since the last reset."""
    rows, by_node = [], {}
    for node, connection in _nodes().items():
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT query, calls, total_exec_time FROM pg_stat_statements WHERE dbid = "
                "(SELECT oid FROM pg_database WHERE datname = current_database()) "
                "ORDER BY total_exec_time DESC"
            )
            mine = [row for row in cursor.fetchall() if "pg_stat_statements" not in row[0]]
        by_node[node] = sum(calls for _q, calls, _t in mine)
        rows += mine
    if not requests:
        return {}
    rows.sort(key=lambda row: row[2], reverse=True)
    queries = sum(by_node.values())
    return {
        "queries_per_request": round(queries / requests, 2),
        "db_ms_per_request": round(sum(ms for _q, _c, ms in rows) / requests, 3),
        "queries_by_node": by_node,
        "replica_share": round(by_node.get("replica", 0) / queries, 3) if queries else None,
        "top": [
            {
                "query": " ".join(query.split())[:300],
                "calls_per_request": round(calls / requests, 2),
                "ms_per_call": round(ms / calls, 3),
            }
            for query, calls, ms in rows[:top]
        ],
    }


@dataclass(frozen=True)
class CheckoutTotals:
    orders: int  # the shoppers' orders
    units: int  # units in those orders' lines
    stock: int  # the whole catalogue's stock


def checkout_totals(emails: list[str]) -> CheckoutTotals:
    """What the checkout run is checked against, read from PostgreSQL."""
    from django.db.models import Sum

    from cart.models import Order, OrderLine
    from catalog.models import Product

    orders = Order.objects.filter(user__email__in=emails)
    units = OrderLine.objects.filter(order__in=orders).aggregate(n=Sum("quantity"))["n"]
    return CheckoutTotals(
        orders=orders.count(),
        units=units or 0,
        stock=Product.objects.aggregate(n=Sum("stock"))["n"],
    )
