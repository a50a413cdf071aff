"""SQL per page, counting everything (session and user lookups included), stays small and
constant as the catalogue grows. transactional_db so that the counts have no test-only
savepoints in them."""

import pytest

from accounts.models import User
from catalog.models import Product
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


@pytest.mark.parametrize("size", [10, 1000])
def test_list_category_and_search_pages_anonymous(client, django_assert_num_queries, size):
    first, _second, _third = build_catalogue(size)
    client.get("/")  # warms the cached category list, as in any running shop
    for url in ["/", first.category.get_absolute_url(), "/?q=product 0"]:
        with django_assert_num_queries(2):  # COUNT for the paginator, one page of products
            assert client.get(url).status_code == 200


@pytest.mark.parametrize("size", [10, 1000])
def test_product_page_anonymous(client, django_assert_num_queries, size):
    first, second, _third = build_catalogue(size)
    client.get("/")
    # A visitor's first product view creates their session: key check, BEGIN, INSERT, COMMIT.
    with django_assert_num_queries(5):
        client.get(first.get_absolute_url())
    with django_assert_num_queries(3):  # product, recently viewed, session update
        client.get(second.get_absolute_url())


@pytest.mark.parametrize("size", [10, 1000])
def test_pages_logged_in_stay_within_four_queries(logged_in, django_assert_num_queries, size):
    first, second, _third = build_catalogue(size)
    logged_in.get(first.get_absolute_url())
    with django_assert_num_queries(4):  # user, product, recently viewed, record the view
        logged_in.get(second.get_absolute_url())
    with django_assert_num_queries(4):  # user, COUNT, page of products, recently viewed
        logged_in.get("/")
