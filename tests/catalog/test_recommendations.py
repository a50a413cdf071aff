"""Recommendations from stored history: counts of orders and shoppers, computed by the job
into tables, shown on the product and home pages; never a product that cannot be bought."""

import uuid
from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client, TestCase
from django.utils import timezone

from accounts.models import User
from cart.models import Order, OrderLine
from catalog.models import Pick, Product, RecentView, Recommendation
from catalog.services import recommendations_refresh
from tests.factories import make_category, make_product

pytestmark = pytest.mark.django_db


def order(*products: Product, user=None, status=Order.Status.PLACED) -> Order:
    placed = Order.objects.create(
        user=user,
        status=status,
        email="buyer@example.com",
        idempotency_key=uuid.uuid4(),
        total=sum(p.price for p in products),
        payment_reference="TEST",
        full_name="A Buyer",
        line1="1 Road",
        city="York",
        postcode="YO1",
        country="UK",
    )
    for product in products:
        OrderLine.objects.create(
            order=placed,
            product=product,
            product_name=product.name,
            unit_price=product.price,
            quantity=1,
        )
    return placed


def viewed(user, *products: Product) -> None:
    for product in products:
        RecentView.objects.create(user=user, product=product, viewed_at=timezone.now())


@pytest.fixture
def shop():
    """Six products and a known history:
    orders A+B+C, A+B, A+D, B+C, and a cancelled A+E; u1 viewed D, F; u2 viewed D, F, E;
    Ann viewed A."""
    category = make_category()
    a, b, c, d, e, f = (make_product(category=category, name=n) for n in "ABCDEF")
    order(a, b, c)
    order(a, b)
    order(a, d)
    order(b, c)
    order(a, e, status=Order.Status.CANCELLED)
    u1, u2, ann = (
        User.objects.create_user(f"{name}@example.com", "x", email_verified=True)
        for name in ("u1", "u2", "ann")
    )
    viewed(u1, d, f)
    viewed(u2, d, f, e)
    viewed(ann, a)
    recommendations_refresh()
    return {p.name: p for p in (a, b, c, d, e, f)} | {"ann": ann}


def section(page, section_id: str) -> list[str]:
    """The product names in the page's <section id=...>, in order ([] without one)."""
    html = page.content.decode()
    start = html.find(f'id="{section_id}"')
    if start < 0:
        return []
    block = html[start : html.find("</section>", start)]
    return [part.split("<")[0] for part in block.split('class="product-name">')[1:]]


def test_the_counts_are_orders_and_shoppers(shop):
    # u1 (viewed D, F) is picked E (viewed with D once and with F once: 2) and A (bought
    # with D: 1); u2 (D, F, E) is picked A; Ann (viewed A) is picked B, C, D.
    picks = Pick.objects.order_by("user__email", "-score", "product__name")
    assert [(p.user.email[:3], p.product.name, p.score) for p in picks] == [
        ("ann", "B", 2),
        ("ann", "C", 1),
        ("ann", "D", 1),
        ("u1@", "E", 2),
        ("u1@", "A", 1),
        ("u2@", "A", 1),
    ]
    bought = dict(
        Recommendation.objects.filter(product=shop["A"], kind="bought").values_list(
            "recommended__name", "score"
        )
    )
    assert bought == {"B": 2, "C": 1, "D": 1}  # the cancelled order with E counts for nothing
    together = dict(
        Recommendation.objects.filter(product=shop["D"], kind="viewed").values_list(
            "recommended__name", "score"
        )
    )
    assert together == {"F": 2, "E": 1}


def test_product_page_shows_what_was_bought_with_it(client, shop):
    page = client.get(shop["A"].get_absolute_url())
    assert section(page, "also-bought") == ["B", "C", "D"]
    assert b"Customers who bought this also bought" in page.content
    assert section(page, "viewed-together") == []
    assert shop["B"].get_absolute_url().encode() in page.content


def test_too_little_purchase_history_shows_what_was_viewed_together(client, shop):
    page = client.get(shop["D"].get_absolute_url())  # bought with A only once
    assert section(page, "also-bought") == []
    assert section(page, "viewed-together") == ["F", "E"]
    assert shop["F"].get_absolute_url().encode() in page.content


def test_no_history_no_block(client, shop):
    lone = make_product(name="Lone")
    page = client.get(lone.get_absolute_url())
    assert section(page, "also-bought") == section(page, "viewed-together") == []


def test_sold_out_and_withdrawn_products_are_never_shown(client, shop):
    with TestCase.captureOnCommitCallbacks(execute=True):  # a new cache generation
        Product.objects.filter(pk=shop["C"].pk).update(stock=0)
        shop["D"].is_active = False
        shop["D"].save()
    page = client.get(shop["A"].get_absolute_url())
    assert section(page, "also-bought") == ["B"]
    signed_in = Client()
    signed_in.force_login(shop["ann"])
    assert section(signed_in.get("/"), "picked-for-you") == ["B"]


def test_picked_for_you_from_the_shoppers_own_history(shop):
    ann = Client()
    ann.force_login(shop["ann"])
    home = ann.get("/")
    assert section(home, "picked-for-you") == ["B", "C", "D"]  # bought with A, by count
    assert "A" not in section(home, "picked-for-you")  # already in her history
    newcomer = Client()
    newcomer.force_login(User.objects.create_user("new@example.com", "x"))
    assert section(newcomer.get("/"), "picked-for-you") == []
    assert section(Client().get("/"), "picked-for-you") == []


def anonymous_visitor_who_viewed(*products: Product) -> Client:
    visitor = Client()
    for product in products:
        assert visitor.get(product.get_absolute_url()).status_code == 200
    return visitor


def test_an_anonymous_visitor_is_picked_for_by_the_same_rule(shop):
    # Viewed D and F, as u1 did: E (viewed with D and with F: 2), then A (bought with D: 1).
    visitor = anonymous_visitor_who_viewed(shop["F"], shop["D"])
    assert section(visitor.get("/"), "picked-for-you") == ["E", "A"]
    u1_picks = Pick.objects.filter(user__email="u1@example.com").order_by("-score", "product")
    assert [pick.product.name for pick in u1_picks] == ["E", "A"]
    # Viewed A, as Ann did: what was bought with it, by count.
    visitor = anonymous_visitor_who_viewed(shop["A"])
    assert section(visitor.get("/"), "picked-for-you") == ["B", "C", "D"]


def test_an_anonymous_visitor_is_never_picked_the_viewed_sold_out_or_withdrawn(shop):
    visitor = anonymous_visitor_who_viewed(shop["A"], shop["B"])
    # A's B (2), C (1), D (1) and B's A (2), C (2): A and B viewed, so C (3), then D (1).
    assert section(visitor.get("/"), "picked-for-you") == ["C", "D"]
    with TestCase.captureOnCommitCallbacks(execute=True):  # a new cache generation
        shop["C"].stock = 0
        shop["C"].save()
    assert section(visitor.get("/"), "picked-for-you") == ["D"]
    with TestCase.captureOnCommitCallbacks(execute=True):
        shop["D"].is_active = False
        shop["D"].save()
    assert section(visitor.get("/"), "picked-for-you") == []


def test_picks_leave_out_what_the_shopper_ordered(shop):
    order(shop["B"], user=shop["ann"])
    recommendations_refresh()
    assert list(
        Pick.objects.filter(user=shop["ann"])
        .order_by("-score", "product")
        .values_list("product__name", flat=True)
    ) == ["C", "D"]


def test_closed_accounts_get_no_picks(shop):
    User.objects.filter(pk=shop["ann"].pk).update(erased_at=timezone.now(), is_active=False)
    recommendations_refresh()
    assert not Pick.objects.filter(user=shop["ann"]).exists()
    assert Pick.objects.exists()  # others' stay


def test_a_refresh_replaces_the_previous_run(shop):
    Order.objects.all().delete()
    recommendations_refresh()
    assert not Recommendation.objects.filter(kind="bought").exists()
    assert Recommendation.objects.filter(kind="viewed").count() == 6  # D-F, D-E, F-E both ways


def test_the_command_runs_it_now(shop):
    out = StringIO()
    call_command("refresh_recommendations", stdout=out)
    assert out.getvalue().strip() == (
        "8 also-bought and 6 viewed-together recommendations, 6 picks for shoppers"
    )
