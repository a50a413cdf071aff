"""The replicated data tier under faults: PostgreSQL and Redis failovers, the read replica
behind, stopped and back, with signed-in shoppers and buyers through the load balancer.

Shoppers browse and add to their carts (tests/stack/load.py), buyers order one product at
a time through the whole checkout, anonymous visitors read the catalogue. Every test prints
its figures as the other fault tests do; queries are counted per node with
pg_stat_statements (statements reading the catalogue's tables).
"""

import random
import re
import textwrap
import threading
import time
from contextlib import contextmanager, suppress

import psycopg2
import pytest
import requests

from catalog.generations import KEPT
from catalog.models import stock_shown
from deploy.servers import replication as pg
from deploy.stack import INSTANCES
from tests.stack import shop
from tests.stack.conftest import PASSWORD
from tests.stack.load import FIGURES, Load, Tally, buyer_step
from tests.stack.test_faults import (
    assert_nothing_lost,
    assert_soft_state_bound,
    carts_lost,
    soft_state_lost,
    wait_until_ready,
)
from webapp import replicas

pytestmark = pytest.mark.stack

BUYERS = 2
VISITORS = 3
LAG_SECONDS = 3.0
ORDERS_PER_BUYER = 22  # in the read-your-writes test
# Statements that read the catalogue's tables (the replica's position check is not one).
CATALOGUE_READS = 'SELECT%FROM "catalog\\_%'
# Visitors sort listings in orders nobody else here uses and make searches nobody else
# makes, so these shapes of catalogue statement count the anonymous visitors' reads. (Their
# recently viewed products are looked up by id, as signed-in shoppers' are: not theirs alone.)
VISITOR_SORTS = ("-price", "newest")
VISITOR_READS = (
    "%LIKE UPPER(%",
    '%"catalog_product"."price" DESC%',
    '%"catalog_product"."created_at" DESC%',
)


@pytest.fixture
def replicated(serving):
    """The data tier whole, whatever an earlier test did: a synchronous standby, the read
    replica running and replaying at once."""
    data = serving.data
    standby = data.node(data.standby_name)
    if standby.pid() is None or not pg.in_recovery(standby):
        data.rebuild_standby()
    data.start_replica()
    data.replica_delay(0)
    return serving


@pytest.fixture(scope="module")
def buyer_accounts(stack) -> list[str]:
    emails = [f"buyer{n}@example.com" for n in range(BUYERS)]
    stack.manage(
        "shell",
        "-c",
        textwrap.dedent(
            f"""
            from accounts.models import User
            for email in {emails!r}:
                if not User.objects.filter(email=email).exists():
                    User.objects.create_user(email, {PASSWORD!r}, display_name="Buyer")
            """
        ),
    )
    return emails


@pytest.fixture
def buyers(replicated, buyer_accounts) -> list[shop.Shopper]:
    signed_in = []
    for email in buyer_accounts:
        buyer = shop.Shopper(replicated.url, email, PASSWORD, "Buyer")
        buyer.log_in()
        signed_in.append(buyer)
    shop.empty_carts(replicated, buyer_accounts)
    return signed_in


@pytest.fixture
def visitors(replicated) -> list[shop.Shopper]:
    """Anonymous visitors (never signed in)."""
    return [shop.Shopper(replicated.url, "", "", "") for _ in range(VISITORS)]


def visitor_step(visitor: shop.Shopper, step: int, products) -> list:
    """The catalogue as a visitor reads it: a listing, a search nobody made before (so no
    cache holds its results), a product page."""
    _product_id, slug = products[step % len(products)]
    term = "".join(random.choices("aeiouklmnrst", k=3))
    sort = VISITOR_SORTS[step % len(VISITOR_SORTS)]
    return [
        visitor.page(f"/?sort={sort}&page={step % 4 + 1}"),
        visitor.page(f"/?q={term}"),
        visitor.browse(slug),
    ]


def catalogue_reads_on(node, shapes: tuple[str, ...] = ("%",)) -> int:
    """Catalogue statements (of one of these shapes) the node has run since the last reset."""
    sql = (
        "SELECT COALESCE(sum(calls), 0)::int FROM pg_stat_statements "
        "WHERE query ILIKE %s AND query ILIKE ANY(%s)"
    )
    return node.query(sql, (CATALOGUE_READS, list(shapes)), database="webshop")[0][0]


def catalogue_reads(stack, shapes: tuple[str, ...] = ("%",)) -> dict[str, int]:
    data = stack.data
    return {
        "primary": catalogue_reads_on(data.primary, shapes),
        "replica": catalogue_reads_on(data.replica, shapes),
    }


def catalogue_reads_reset(stack) -> None:
    for node in (stack.data.primary, stack.data.replica):
        node.query("SELECT pg_stat_statements_reset()", database="webshop")


def share(reads: dict[str, int]) -> str:
    total = sum(reads.values())
    return f"{reads['replica'] / total:.0%} on the replica of {total}" if total else "no reads"


def replica_lag_seconds(stack) -> float:
    """How long the replica takes to replay a commit made now."""
    primary = stack.data.primary
    primary.query("SELECT txid_current()")  # a transaction of its own, committed
    started = time.monotonic()
    pg.wait_replayed(stack.data.replica, pg.current_position(primary))
    return time.monotonic() - started


@contextmanager
def commits_every(stack, seconds: float):
    """A small commit on the primary every `seconds`, as a live shop makes several a second.
    The router reads the replica's lag as the age of the last commit it replayed, so without
    them each quiet spell between the test's own writes would add to the lag it sees
    (past DATABASE_REPLICA_MAX_LAG on a slow machine, sending visitors to the primary)."""
    stop = threading.Event()

    def commit() -> None:
        while not stop.wait(seconds):
            with suppress(psycopg2.Error):
                stack.data.primary.query("SELECT txid_current()")

    thread = threading.Thread(target=commit)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def orders_lost(stack, buyers) -> list[str]:
    """Confirmed orders missing from PostgreSQL, or without the product they confirmed."""
    confirmed = {order: lines for buyer in buyers for order, lines in buyer.orders.items()}
    held = shop.stack_orders(stack, list(confirmed))
    return [
        f"order {order}: {lines} confirmed, {held.get(order)} held"
        for order, lines in confirmed.items()
        if not all(held.get(order, {}).get(p, 0) >= q for p, q in lines.items())
    ]


def test_a_postgres_failover_mid_load_loses_nothing_acknowledged(
    replicated, shoppers, buyers, products
):
    stack = replicated
    bought = products[: BUYERS * 2]
    before = shop.stock_and_ordered(stack, [p for p, _ in bought])
    pids = {name: stack.instance(name).pid() for name in INSTANCES}
    old_primary = stack.data.primary_name
    with Load(shoppers, products[BUYERS * 2 :]) as load, Load(buyers, bought, buyer_step) as buy:
        time.sleep(3)
        killed_at = time.monotonic()
        phases = stack.data.failover_postgres()  # kill, promote, move the writer endpoint
        moved_at = time.monotonic()
        ready_at = wait_until_ready(stack.instances.values(), timeout=15)
        time.sleep(2)
        rebuilt = stack.data.rebuild_standby()  # under load, as ops would
        time.sleep(2)
    tally = Tally(load.tally.outcomes + buy.tally.outcomes, load.tally.seconds)
    in_window = [o for o in tally.failed if o.in_flight_between(killed_at, moved_at)]
    outside = [o for o in tally.failed if o not in in_window]
    after = shop.stock_and_ordered(stack, [p for p, _ in bought])
    orders = sum(len(b.orders) for b in buyers)
    tally.report(
        "7 PostgreSQL failover",
        failover=f"{phases} (writer endpoint moved {moved_at - killed_at:.2f} s after the kill)",
        failed_in_window=len(in_window),
        failed_outside=len(outside),
        shop_normal_after_move=f"{ready_at - moved_at:.2f} s",
        orders_confirmed=orders,
        orders_unanswered=sum(b.maybe_ordered for b in buyers),
        orders_lost=len(orders_lost(stack, buyers)),
        cart_lines_lost=len(carts_lost(stack, shoppers)),
        stock_invariant="holds" if before == after else f"BROKEN {before} -> {after}",
        rebuild_standby=rebuilt,
    )
    assert stack.data.primary_name != old_primary
    assert not outside, [str(o) for o in outside]
    assert all(o.status in (None, 502, 503) for o in in_window), [str(o) for o in in_window]
    assert ready_at - moved_at < 5
    assert {name: stack.instance(name).pid() for name in INSTANCES} == pids
    assert orders > 0 and not orders_lost(stack, buyers)
    assert before == after
    assert_nothing_lost(stack, shoppers, tally)
    # The rebuilt standby is synchronous again, and the replica follows it.
    assert pg.downstreams(stack.data.primary)[old_primary]["sync"] == "sync"
    assert "replica" in pg.downstreams(stack.data.node(old_primary))


def test_a_redis_failover_mid_load_signs_nobody_out_and_keeps_carts(replicated, shoppers, products):
    stack = replicated
    old = stack.data.redis_primary_name
    with Load(shoppers, products) as load:
        time.sleep(2)
        killed_at, killed_wall = time.monotonic(), time.time()
        phases = stack.data.failover_redis()
        moved_at = killed_at + sum(
            v for k, v in phases.items() if k != "replacement replica in sync"
        )
        fault = (killed_wall, killed_wall + moved_at - killed_at)
        time.sleep(4)
    tally = load.tally
    views, lost = soft_state_lost(stack, shoppers, fault)
    errors = [o for o in tally.outcomes if o.status is None or o.status >= 500]
    outside = [o for o in errors if not o.in_flight_between(killed_at, moved_at)]
    tally.report(
        "8 Redis failover",
        failover=phases,
        answered_5xx_in_window=len(errors) - len(outside),
        answered_5xx_outside=len(outside),
        signed_out=len(tally.lost),
        cart_lines_lost=len(carts_lost(stack, shoppers)),
        product_views_forgotten=views,
    )
    assert stack.data.redis_primary_name != old
    assert stack.data.redis_node(old).replication()["role"] == "slave"
    assert not outside, [str(o) for o in outside]
    assert_nothing_lost(stack, shoppers, tally)
    assert_soft_state_bound(lost, fault)


def test_read_your_writes_with_the_replica_3_s_behind(
    replicated, shoppers, buyers, visitors, products
):
    """100 times a shopper changes a preference, adds to the cart or places an order, and
    the very next page shows it; meanwhile anonymous visitors read the catalogue, and most
    of their reads run on the replica (the writers' own reads go to the primary, by
    design: both shares are printed)."""
    stack = replicated
    stack.data.replica_delay(LAG_SECONDS)
    own = {buyer.email: products[n] for n, buyer in enumerate(buyers)}  # nobody else orders it
    kept = dict(stock_of(stack, [p for p, _ in own.values()]))
    # As many as the buyer orders: the page shows "In stock", then "Only N left" (each a new
    # catalogue generation the buyer's next page must read), then "Sold out".
    stock = dict.fromkeys(kept, ORDERS_PER_BUYER)
    stock_set(stack, stock)
    trials: list[tuple[str, bool, str]] = []
    lock = threading.Lock()

    def record(kind: str, ok: bool, detail: str) -> None:
        with lock:
            trials.append((kind, ok, detail))

    def shopper_trials(shopper: shop.Shopper, count: int) -> None:
        units = 0
        for n in range(count):
            if n % 2 == 0:
                per_page = (12, 48)[(n // 2) % 2]
                saved = shopper.browser.post(
                    PREFERENCES,
                    {"display_name": shopper.name, "products_per_page": per_page}
                    | {"default_sort": "name"},
                )
                page = shopper.browser.get("/")
                shown = listing_size(page.text)
                record("preference", saved.status_code == 302 and shown == per_page, f"{shown}")
            else:
                product_id, slug = products[VISITORS + n % 10]
                added = shopper.browser.post(
                    shop.CART_ADD,
                    {"product": product_id, "quantity": 1, "next": f"/products/{slug}/"},
                )
                units += added.status_code == 302
                page = shopper.browser.get(added.headers.get("Location", "/cart/"))
                shown = cart_count(page.text)
                record("add to cart", added.status_code == 302 and shown == units, f"{shown}")

    def buyer_trials(buyer: shop.Shopper, count: int) -> None:
        product_id, slug = own[buyer.email]
        for _ in range(count):
            outcomes = buyer.place_order(product_id)
            confirmed = all(o.ok for o in outcomes)
            stock[product_id] -= confirmed
            page = buyer.browser.get(f"/products/{slug}/")
            shown = re.search(r'<p class="stock">([^<]*)</p>', page.text)
            seen = shown.group(1) if shown else None
            record("order", confirmed and seen == stock_text(stock[product_id]), f"{seen}")

    with commits_every(stack, 0.2), Load(visitors, products, visitor_step) as browsing:
        lag = replica_lag_seconds(stack)  # also waits for the new delay to hold
        catalogue_reads_reset(stack)
        started = time.monotonic()
        threads = [threading.Thread(target=shopper_trials, args=(s, 14)) for s in shoppers]
        threads += [
            threading.Thread(target=buyer_trials, args=(b, ORDERS_PER_BUYER)) for b in buyers
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    stock_set(stack, kept)  # for the tests after this one
    reads = catalogue_reads(stack)
    visitor_reads = catalogue_reads(stack, VISITOR_READS)
    missed = [t for t in trials if not t[1]]
    browsing.tally.report(
        "9 read-your-writes, replica 3 s behind",
        replica_lag_measured=f"{lag:.1f} s",
        trials=f"{len(trials) - len(missed)} of {len(trials)} saw their write on the next page "
        f"in {time.monotonic() - started:.1f} s",
        by_kind={
            k: sum(1 for t in trials if t[0] == k) for k in ("preference", "add to cart", "order")
        },
        visitors_catalogue_reads=f"{visitor_reads} ({share(visitor_reads)})",
        all_catalogue_reads=f"{reads} ({share(reads)})",
    )
    assert lag > LAG_SECONDS * 0.8
    assert len(trials) == 100 and not missed, missed
    assert visitor_reads["replica"] >= 0.8 * sum(visitor_reads.values()) > 0
    assert not browsing.tally.failed, [str(o) for o in browsing.tally.failed]


def test_a_stopped_replica_moves_reads_to_the_primary_and_back(
    replicated, shoppers, visitors, products
):
    stack = replicated
    catalogue_reads_reset(stack)
    with Load(shoppers, products) as load, Load(visitors, products, visitor_step) as browsing:
        time.sleep(2)
        before = catalogue_reads(stack)
        stack.data.stop_replica()
        time.sleep(3)
        # Stopped, the replica cannot be asked; pg_stat_statements keeps its counts over a
        # clean shutdown, so what it shows once started again is what it ran before.
        on_primary_while_stopped = catalogue_reads_on(stack.data.primary) - before["primary"]
        stack.data.start_replica()
        started_at = time.monotonic()
        saved = catalogue_reads_on(stack.data.replica)  # what it ran up to its stop
        returned_in = wait_for_replica_reads(stack, above=saved, timeout=15)
        time.sleep(1)
    tally = Tally(load.tally.outcomes + browsing.tally.outcomes, load.tally.seconds)
    # Visitors only read, on the primary too while the replica was away: none of them may
    # carry a write position, which would keep their reads on the primary.
    pinned = [v for v in visitors if replicas.COOKIE in v.browser.http.cookies]
    tally.report(
        "10 read replica stopped 3 s, then started",
        catalogue_reads_before_stop=before,
        on_the_primary_while_stopped=on_primary_while_stopped,
        back_on_the_replica_after=f"{returned_in - started_at:.1f} s",
        visitors_with_a_write_position=f"{len(pinned)} of {len(visitors)}",
    )
    assert not pinned
    assert before["replica"] > 0 and on_primary_while_stopped > 0
    assert returned_in - started_at < 10
    assert not tally.failed, [str(o) for o in tally.failed]
    assert_nothing_lost(stack, shoppers, tally)


def test_the_generation_cache_never_keeps_a_stale_replica_read(replicated, products):
    """A price change starts a new catalogue generation at once, but the replica replays it
    3 s later: pages read from the replica meanwhile show the old price (stale, as replica
    reads may be) without caching it under the new generation, so once the replica has
    replayed the change every instance shows the new price. A replica more generations
    behind than the list keeps sends the catalogue's reads to the primary."""
    stack = replicated
    product_id, slug = products[-1]
    stack.data.replica_delay(LAG_SECONDS)
    first, second = prices(stack, product_id, slug)
    assert set(prices_everywhere(stack, slug)) == {first}  # every process caches it
    change_price(stack, product_id, second)
    changed_at = pg.current_position(stack.data.primary)
    meanwhile = prices_everywhere(stack, slug)
    pg.wait_replayed(stack.data.replica, changed_at)
    replayed = prices_everywhere(stack, slug)
    third = second + 1
    change_price(stack, product_id, third, generations=KEPT + 1)
    far_behind = prices_everywhere(stack, slug)
    FIGURES.append(
        f"[11 generation cache, replica {LAG_SECONDS:g} s behind] price {first} -> {second}: "
        f"meanwhile {sorted(set(meanwhile))}, once replayed {sorted(set(replayed))}; "
        f"-> {third} with {KEPT + 1} generations: {sorted(set(far_behind))}"
    )
    print(FIGURES[-1])
    assert set(meanwhile) <= {first, second} and first in meanwhile  # the replica was behind
    assert set(replayed) == {second}
    assert set(far_behind) == {third}


PREFERENCES = "/accounts/preferences/"


def listing_size(page: str) -> int:
    """Products in the page's main listing (not the recently viewed ones)."""
    listing = re.search(r'<ul class="product-grid">(.*?)</ul>', page, re.S)
    return listing.group(1).count('class="product-card"') if listing else 0


def cart_count(page: str) -> int | None:
    found = re.search(r'class="cart-count"[^>]*>(\d+)<', page)
    return int(found.group(1)) if found else None


def stock_of(stack, ids: list[int]) -> list[tuple[int, int]]:
    return [
        tuple(row)
        for row in shop.stack_json(
            stack,
            "import json; from catalog.models import Product; print(json.dumps(list("
            f"Product.objects.filter(pk__in={ids!r}).values_list('pk', 'stock'))))",
        )
    ]


def stock_set(stack, stock: dict[int, int]) -> None:
    """Receive or write off each product's stock to the number given (stock_adjust)."""
    shop.stack_json(
        stack,
        "from catalog.models import Product; from catalog.services import stock_adjust; "
        "[stock_adjust(product_id=pk, change=n - Product.objects.get(pk=pk).stock) "
        f"for pk, n in {stock!r}.items()]; print('null')",
    )


def stock_text(stock: int) -> str:
    """What a product page says of this stock (catalog.models.stock_shown)."""
    if stock == 0:
        return "Sold out"
    return "In stock" if stock_shown(stock) is None else f"Only {stock} left"


def prices(stack, product_id: int, slug: str) -> tuple[int, int]:
    """The product's price in whole dollars now, and another one to change it to."""
    price = price_on(requests.get(f"{stack.url}/products/{slug}/", timeout=10).text)
    return price, price + 1


def price_on(page: str) -> int:
    return int(float(re.search(r'class="price">\$([\d.]+)<', page).group(1)))


def prices_everywhere(stack, slug: str, per_instance: int = 6) -> list[int]:
    """The price each instance's product page shows, asked several times so that both
    workers of every instance answer (and cache) it."""
    return [
        price_on(requests.get(f"{instance.url}/products/{slug}/", timeout=10).text)
        for instance in stack.instances.values()
        for _ in range(per_instance)
    ]


def change_price(stack, product_id: int, price: int, generations: int = 1) -> None:
    """As a bulk update does: the row on the primary, then catalog_changed() (each call
    starts a generation once the change commits, here at once)."""
    stack.manage(
        "shell",
        "-c",
        "from catalog.models import Product; from catalog.services import catalog_changed; "
        f"Product.objects.filter(pk={product_id}).update(price={price}); "
        f"[catalog_changed() for _ in range({generations})]",
    )


def wait_for_replica_reads(stack, above: int, timeout: float) -> float:
    """Wait until the replica runs catalogue reads again; returns when it did."""
    deadline = time.monotonic() + timeout
    while True:
        with suppress(psycopg2.OperationalError):  # still starting
            if catalogue_reads(stack)["replica"] > above:
                return time.monotonic()
        assert time.monotonic() < deadline, "reads did not return to the replica"
        time.sleep(0.1)
