"""SQL per page stays constant as the catalogue grows (no N+1 queries)."""

import pytest

from catalog.models import Product
from tests.factories import make_category

pytestmark = pytest.mark.django_db


def build_catalogue(size: int) -> Product:
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
    return Product.objects.first()


@pytest.mark.parametrize("size", [10, 1000])
def test_list_page_queries_are_constant(client, django_assert_num_queries, size):
    build_catalogue(size)
    client.get("/")  # warm the cached category list, as any running shop has
    with django_assert_num_queries(2):  # COUNT for the paginator, one page of products
        assert client.get("/").status_code == 200


@pytest.mark.parametrize("size", [10, 1000])
def test_category_and_search_queries_are_constant(client, django_assert_num_queries, size):
    category_url = build_catalogue(size).category.get_absolute_url()
    client.get("/")
    with django_assert_num_queries(2):
        assert client.get(category_url).status_code == 200
    with django_assert_num_queries(2):
        assert client.get("/?q=product 0").status_code == 200


@pytest.mark.parametrize("size", [10, 1000])
def test_product_page_is_one_query(client, django_assert_num_queries, size):
    product = build_catalogue(size)
    client.get("/")
    with django_assert_num_queries(1):  # the product joined with its category
        assert client.get(product.get_absolute_url()).status_code == 200
