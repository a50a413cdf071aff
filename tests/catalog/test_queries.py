"""SQL per page, counting everything (session and user lookups included), stays small and
constant as the catalogue grows. transactional_db so that the counts have no test-only
savepoints in them."""

import pytest

from accounts.models import User
from catalog.models import Pick, Product, Recommendation
from tests.factories import make_category

pytestmark = pytest.mark.django_db(transaction=True)


def build_catalogue(size: int) -> list[Product]:
    categories = [make_category() for _ in range(5)]
    Product.objects.bulk_create(
        Product(
            category=categories[n % 5],
            name=f"Product {n:05d}",
            slug=f"product-{n:05d}",
            price="9.99",
            stock=5,
        )
        for n in range(size)
    )
    return list(Product.objects.order_by("pk")[:3])


@pytest.fixture
def logged_in(client):
    user = User.objects.create_user("ann@example.com", "x", email_verified=True)
    client.force_login(user)
    return client


def warm_navigation(client):
    """Fill the cached category list, as in any running shop."""
    client.get("/category/no-such-category/")


@pytest.mark.parametrize("size", [10, 1000])
def test_list_category_and_search_pages_anonymous(client, django_assert_num_queries, size):
    first, _second, _third = build_catalogue(size)
    warm_navigation(client)
    for url in ["/", first.category.get_absolute_url(), "/?q=product 0"]:
        with django_assert_num_queries(2):  # first visit: COUNT for the paginator, the page
            assert client.get(url).status_code == 200
        with django_assert_num_queries(0):  # then served from the cached listing
            assert client.get(url).status_code == 200


@pytest.mark.parametrize("size", [10, 1000])
def test_product_page_anonymous(client, django_assert_num_queries, size):
    first, second, _third = build_catalogue(size)
    warm_navigation(client)
    client.get(second.get_absolute_url())  # the product is cached from here on
    client.get("/accounts/logout/")
    fresh = type(client)()
    warm_navigation(fresh)
    # A visitor's first product view creates their session: key check, BEGIN, INSERT, COMMIT.
    with django_assert_num_queries(4):
        fresh.get(second.get_absolute_url())
    # Recently viewed is soft state in Redis, its products come from the cache too (product
    # pages cache them by id): no session write per product viewed.
    with django_assert_num_queries(1):  # the product, not yet cached
        fresh.get(first.get_absolute_url())
    with django_assert_num_queries(0):  # a cached product
        fresh.get(second.get_absolute_url())


@pytest.mark.parametrize("size", [10, 1000])
def test_pages_logged_in_stay_within_three_queries(logged_in, django_assert_num_queries, size):
    """The signed-in user comes from the shared cache (accounts/middleware.py), the
    shopper's recently viewed list from Redis (catalog/history.py)."""
    first, second, _third = build_catalogue(size)
    logged_in.get(first.get_absolute_url())
    with django_assert_num_queries(1):  # the product, not cached yet: the view, no write
        logged_in.get(second.get_absolute_url())
    with django_assert_num_queries(0):  # the product now comes from the cache
        logged_in.get(second.get_absolute_url())
    with django_assert_num_queries(3):  # COUNT, page of products, the picks of this generation
        logged_in.get("/")
    with django_assert_num_queries(0):  # the listing and the picks are cached
        logged_in.get("/")


def recommend_everything(products: list[Product], user: User | None = None) -> None:
    """Every product recommended with the next ones, as after a busy day's refresh, and
    picks for `user`: the pages must cost the same with them as without."""
    rows = [
        Recommendation(product=product, recommended=other, kind=kind, score=n + 1)
        for product in products
        for n, other in enumerate(p for p in products if p != product)
        for kind in Recommendation.Kind
    ]
    Recommendation.objects.bulk_create(rows)
    if user is not None:
        Pick.objects.bulk_create(Pick(user=user, product=p, score=1) for p in products)


@pytest.mark.parametrize("size", [10, 1000])
def test_product_page_with_recommendations_costs_the_same(client, django_assert_num_queries, size):
    first, second, third = build_catalogue(size)
    recommend_everything([first, second, third, *Product.objects.order_by("-pk")[:5]])
    warm_navigation(client)
    client.get(second.get_absolute_url())  # cached from here on
    client.get("/accounts/logout/")
    fresh = type(client)()
    warm_navigation(fresh)
    with django_assert_num_queries(4):  # a first view creates the session, as before
        page = fresh.get(second.get_absolute_url())
    assert b'id="also-bought"' in page.content
    with django_assert_num_queries(1):  # the product and its recommendations: one query
        page = fresh.get(first.get_absolute_url())
    assert b'id="also-bought"' in page.content
    with django_assert_num_queries(0):
        fresh.get(second.get_absolute_url())


@pytest.mark.parametrize("size", [10, 1000])
def test_home_with_picks_costs_the_same(logged_in, django_assert_num_queries, size):
    first, second, third = build_catalogue(size)
    user = User.objects.get(email="ann@example.com")
    recommend_everything([first, second, third], user=user)
    logged_in.get(first.get_absolute_url())
    # COUNT, page, the ids picked, the picked products not cached yet
    with django_assert_num_queries(4):
        page = logged_in.get("/")
    assert b'id="picked-for-you"' in page.content
    with django_assert_num_queries(0):
        logged_in.get("/")


@pytest.mark.parametrize("size", [10, 1000])
def test_home_with_an_anonymous_visitors_picks_costs_the_same(
    client, django_assert_num_queries, size
):
    first, second, third = build_catalogue(size)
    recommend_everything([first, second, third, *Product.objects.order_by("-pk")[:5]])
    warm_navigation(client)
    client.get(first.get_absolute_url())  # a visitor with history; the product is cached
    client.get(second.get_absolute_url())
    with django_assert_num_queries(3):  # COUNT, page of products, the picks
        page = client.get("/")
    assert b'id="picked-for-you"' in page.content
    with django_assert_num_queries(0):  # the listing, the list and the picks are cached
        page = client.get("/")
    assert b'id="picked-for-you"' in page.content
