"""Carts and orders under real concurrency: two gunicorn masters (2 workers x 4 threads each)
on the test PostgreSQL, hammered by client threads. No mocks, no sleeps to line things up."""

import re
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from cart.models import Cart, CartLine, Order, OrderLine
from catalog.models import Product
from deploy.servers.client import ShopClient
from tests.accounts.helpers import admin_login_form
from tests.factories import make_product
from tests.servers import server_user, start_app_server

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.servers]
PASSWORD = "correct-horse-battery-9"
ADDRESS = {
    "full_name": "Buyer",
    "line1": "1 Road",
    "city": "Leeds",
    "postcode": "LS1 1AA",
    "country": "United Kingdom",
}


@pytest.fixture(scope="module")
def servers(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        pair = [
            start_app_server("instance-a", mail=False),
            start_app_server("instance-b", mail=False),
        ]
    yield pair
    for server in pair:
        server.stop()


def add(browser, server, product, quantity=1) -> int:
    return browser.post(
        f"{server.url}/cart/add/", {"product": product.pk, "quantity": quantity}
    ).status_code


def hammer(browser, servers, product, requests_count, threads=16) -> list[int]:
    """`requests_count` concurrent adds of one unit, alternating between the servers."""
    tabs = [browser.twin() for _ in range(threads)]
    with ThreadPoolExecutor(threads) as pool:
        return list(
            pool.map(
                lambda n: add(tabs[n % threads], servers[n % 2], product),
                range(requests_count),
            )
        )


def test_concurrent_adds_lose_nothing(servers):
    product = make_product(name="Lamp", stock=1000)
    browser = ShopClient(servers[0].url)
    assert add(browser, servers[0], product) == 302  # the cart exists before the storm
    statuses = hammer(browser, servers, product, 48)
    successes = statuses.count(302)
    final = CartLine.objects.get(product=product).quantity
    print(
        f"\nconcurrent adds: 48 requests, {successes} succeeded, "
        f"final quantity {final} (1 + {successes})"
    )
    assert set(statuses) == {302}
    assert final == 1 + successes


def test_concurrent_adds_past_the_limit_are_refused_exactly(servers):
    product = make_product(name="Mug", stock=20)
    browser = ShopClient(servers[0].url)
    add(browser, servers[0], product)
    statuses = hammer(browser, servers, product, 40)
    successes = statuses.count(302)
    final = CartLine.objects.get(product=product).quantity
    print(
        f"\nadds past the stock of 20: 40 requests, {successes} succeeded, "
        f"{statuses.count(409)} refused, final quantity {final}"
    )
    assert set(statuses) <= {302, 409}
    assert successes == 19 and final == 20


def test_two_tabs_adding_a_new_product_make_one_line(servers):
    browser = ShopClient(servers[0].url)
    add(browser, servers[0], make_product(name="Starter"))
    for round_number in range(5):
        product = make_product(name=f"Fresh {round_number}", stock=100)
        statuses = hammer(browser, servers, product, 8, threads=8)
        lines = CartLine.objects.filter(product=product)
        assert lines.count() == 1
        assert lines.get().quantity == statuses.count(302) == 8
    print("\ntwo tabs: 5 rounds x 8 simultaneous first adds, one line each time")


def buyer_at_review(email, server, product, quantity=1):
    """A logged-in buyer with `quantity` of `product` in the cart, on the order review page."""
    server_user(email, PASSWORD, email_verified=True)
    browser = ShopClient(server.url)
    browser.post("/accounts/login/", {"username": email, "password": PASSWORD})
    assert add(browser, server, product, quantity) == 302
    assert browser.post("/checkout/", ADDRESS).status_code == 302
    page = browser.get("/checkout/review/").text
    form = dict(re.findall(r'name="(idempotency_key|fingerprint)" value="([^"]*)"', page))
    return browser, {**form, "test_payment": "on"}


def place_at_once(attempts):
    """POST every (browser, server, form) at the same moment; return the responses."""
    barrier = threading.Barrier(len(attempts))

    def place(attempt):
        browser, server, form = attempt
        barrier.wait()
        return browser.post(f"{server.url}/checkout/review/", form)

    with ThreadPoolExecutor(len(attempts)) as pool:
        return list(pool.map(place, attempts))


def test_two_buyers_racing_for_the_last_unit(servers):
    rounds = 5
    for round_number in range(rounds):
        product = make_product(name=f"Last One {round_number}", stock=1)
        buyers = [
            buyer_at_review(f"buyer{round_number}-{n}@example.com", servers[n], product)
            for n in range(2)
        ]
        responses = place_at_once(
            [(browser, servers[n], form) for n, (browser, form) in enumerate(buyers)]
        )
        won = [r for r in responses if r.headers["Location"].startswith("/orders/")]
        lost = [(b, r) for (b, _f), r in zip(buyers, responses, strict=True) if r not in won]
        assert len(won) == 1 and len(lost) == 1
        loser, response = lost[0]
        assert response.headers["Location"] == "/cart/"
        cart_page = loser.get(f"{servers[0].url}/cart/").text
        assert "is no longer in stock" in cart_page
        assert Product.objects.get(pk=product.pk).stock == 0
        assert Order.objects.filter(lines__product=product).count() == 1
    print(f"\nlast unit: {rounds} rounds x 2 buyers on two instances: 1 order each round, stock 0")


def test_a_double_submit_creates_one_order(servers):
    product = make_product(name="Kettle", stock=10)
    browser, form = buyer_at_review("double@example.com", servers[0], product)
    responses = place_at_once([(browser.twin(), server, form) for server in servers])
    locations = {r.headers["Location"] for r in responses}
    assert len(locations) == 1 and locations.pop().startswith("/orders/")
    assert Order.objects.filter(user__email="double@example.com").count() == 1
    assert Product.objects.get(pk=product.pk).stock == 9
    print("\ndouble submit: 2 simultaneous POSTs of one checkout form -> 1 order, stock 10 -> 9")


def test_first_adds_of_a_new_visitor_open_exactly_one_cart(servers):
    """A visitor with a session but no cart yet sends 10 adds at once (two tabs, a double
    click, a retrying client), over connections already open so they really overlap."""
    rounds, adds = 5, 10
    for round_number in range(rounds):
        product = make_product(name=f"Teapot {round_number}", stock=100)
        browser = ShopClient(servers[0].url)
        assert browser.get(product.get_absolute_url()).status_code == 200  # session, no cart
        carts_before = Cart.objects.count()
        tabs = [browser.twin() for _ in range(adds)]
        for n, tab in enumerate(tabs):
            tab.get(f"{servers[n % 2].url}/healthz")
        barrier = threading.Barrier(adds)

        def first_add(n, tabs=tabs, product=product, barrier=barrier):
            barrier.wait()
            return add(tabs[n], servers[n % 2], product)

        with ThreadPoolExecutor(adds) as pool:
            statuses = list(pool.map(first_add, range(adds)))
        opened = Cart.objects.count() - carts_before
        lines = list(CartLine.objects.filter(product=product).values_list("quantity", flat=True))
        cart_page = ShopClient(servers[1].url)
        cart_page.http.cookies.update(browser.http.cookies)
        shown = re.search(r'data-quantity="(\d+)"', cart_page.get("/cart/").text).group(1)
        assert statuses == [302] * adds
        assert (opened, lines, shown) == (1, [adds], str(adds)), f"round {round_number}"
    print(f"\nfirst adds of a new visitor: {rounds} rounds x {adds} at once, one cart each time")


def test_admin_stock_edits_racing_checkouts_lose_nothing(servers):
    initial, received_each, quantity = 200, 1, 3
    product = make_product(name="Stool", stock=initial, price="20.00")
    buyers = [
        buyer_at_review(f"stool{n}@example.com", servers[n % 2], product, quantity)
        for n in range(8)
    ]
    staff = server_user("stock-admin@example.com", PASSWORD, is_staff=True, is_superuser=True)
    admin = ShopClient(servers[1].url)
    assert admin.post("/admin/login/", admin_login_form(staff, PASSWORD)).status_code == 302
    change_form = {
        "category": product.category_id,
        "name": product.name,
        "slug": product.slug,
        "price": "20.00",
        "is_active": "on",
        "stock_change": str(received_each),
    }
    edits = 10
    barrier = threading.Barrier(len(buyers) + 1)

    def place(n):
        browser, form = buyers[n]
        barrier.wait()
        return browser.post(f"{servers[n % 2].url}/checkout/review/", form).status_code

    def edit_repeatedly():
        barrier.wait()
        url = f"/admin/catalog/product/{product.pk}/change/"
        return [admin.post(url, change_form).status_code for _ in range(edits)]

    with ThreadPoolExecutor(len(buyers) + 1) as pool:
        admin_statuses = pool.submit(edit_repeatedly)
        order_statuses = list(pool.map(place, range(len(buyers))))
    received = admin_statuses.result().count(302) * received_each
    ordered = sum(OrderLine.objects.filter(product=product).values_list("quantity", flat=True))
    stock = Product.objects.get(pk=product.pk).stock
    print(
        f"\nadmin edits racing checkouts: received {received}, ordered {ordered}, "
        f"stock {initial} -> {stock}"
    )
    assert admin_statuses.result() == [302] * edits and order_statuses == [302] * len(buyers)
    assert initial + received == stock + ordered
    assert ordered == len(buyers) * quantity
