from decimal import Decimal

import pytest

from catalog.models import Product
from catalog.services import catalog_changed
from tests.factories import make_category, make_product

pytestmark = pytest.mark.django_db


def test_home_lists_active_products_only(client):
    make_product(name="Enamel Teapot")
    make_product(name="Hidden Kettle", is_active=False)
    response = client.get("/")
    assert response.status_code == 200
    assert b"Enamel Teapot" in response.content
    assert b"Hidden Kettle" not in response.content


def test_home_paginates_24_per_page(client):
    category = make_category()
    for n in range(30):
        make_product(category=category, name=f"Item {n:02d}")
    first = client.get("/")
    second = client.get("/?page=2")
    assert len(first.context["page"].object_list) == 24
    assert len(second.context["page"].object_list) == 6
    assert b"Page 1 of 2" in first.content


def test_category_page_filters_products(client):
    kitchen = make_category(name="Kitchen", slug="kitchen")
    make_product(category=kitchen, name="Copper Whisk")
    make_product(name="Garden Rake")
    response = client.get("/category/kitchen/")
    assert response.status_code == 200
    assert b"Copper Whisk" in response.content
    assert b"Garden Rake" not in response.content
    assert b'aria-current="page">Kitchen' in response.content


def test_unknown_category_is_404(client):
    response = client.get("/category/no-such-category/")
    assert response.status_code == 404
    assert b"Page not found" in response.content


def test_search_matches_name_case_insensitively(client):
    make_product(name="Walnut Pepper Mill")
    make_product(name="Trail Compass")
    response = client.get("/?q=pepper")
    assert b"Walnut Pepper Mill" in response.content
    assert b"Trail Compass" not in response.content
    assert response.context["page"].paginator.count == 1


@pytest.mark.parametrize(
    ("sort", "expected"),
    [("price", ["Cheap", "Middle", "Dear"]), ("-price", ["Dear", "Middle", "Cheap"])],
)
def test_sort_by_price(client, sort, expected):
    category = make_category()
    for name, price in [("Middle", "20.00"), ("Dear", "30.00"), ("Cheap", "10.00")]:
        make_product(category=category, name=name, price=Decimal(price))
    response = client.get(f"/?sort={sort}")
    assert [p.name for p in response.context["page"].object_list] == expected


def test_unknown_sort_falls_back_to_name(client):
    category = make_category()
    make_product(category=category, name="Beta")
    make_product(category=category, name="Alpha")
    response = client.get("/?sort=;DROP TABLE")
    assert response.status_code == 200
    assert [p.name for p in response.context["page"].object_list] == ["Alpha", "Beta"]


def test_product_page_shows_price_stock_and_category(client):
    product = make_product(name="Brass Lamp", slug="brass-lamp", price=Decimal("49.99"), stock=3)
    response = client.get("/products/brass-lamp/")
    assert response.status_code == 200
    assert b"Brass Lamp" in response.content
    assert b"$49.99" in response.content
    assert b"Only 3 left" in response.content
    assert product.category.name.encode() in response.content


def test_sold_out_product_says_so(client):
    make_product(slug="gone", stock=0)
    response = client.get("/products/gone/")
    assert b"Sold out" in response.content


def test_unknown_product_is_404(client):
    response = client.get("/products/no-such-product/")
    assert response.status_code == 404
    assert b"Page not found" in response.content


def test_inactive_product_is_404(client):
    make_product(slug="retired", is_active=False)
    assert client.get("/products/retired/").status_code == 404


def test_new_category_appears_in_navigation_at_once(client, django_capture_on_commit_callbacks):
    client.get("/")  # fills the cached category list
    with django_capture_on_commit_callbacks(execute=True):
        make_category(name="Freshly Added", slug="freshly-added")
    assert b"Freshly Added" in client.get("/").content


def test_price_and_stock_changes_show_at_once_on_cached_pages(
    client, django_capture_on_commit_callbacks
):
    lamp = make_product(name="Brass Lamp", slug="brass-lamp", price=Decimal("10.00"), stock=5)
    assert b"$10.00" in client.get("/").content
    assert b"Only 5 left" in client.get("/products/brass-lamp/").content
    with django_capture_on_commit_callbacks(execute=True):
        lamp.price = Decimal("12.00")
        lamp.save()
    assert b"$12.00" in client.get("/").content
    assert b"$12.00" in client.get("/products/brass-lamp/").content
    with django_capture_on_commit_callbacks(execute=True):
        Product.objects.filter(pk=lamp.pk).update(stock=0)
        catalog_changed()  # what code that updates in bulk (orders, cancellations) does
    assert b"Sold out" in client.get("/").content
    assert b"Sold out" in client.get("/products/brass-lamp/").content


def test_empty_result_offers_a_way_back(client):
    response = client.get("/?q=nothing-matches-this")
    assert b"No products match" in response.content
