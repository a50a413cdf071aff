import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.models import User
from catalog.demo import DemoProduct, product_image
from catalog.models import Product
from tests.factories import make_category, make_product

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    admin = User.objects.create_superuser("admin@example.com", "a-long-admin-password")
    client.force_login(admin)
    return client


def product_form(product, **changes):
    data = {
        "category": product.category_id,
        "name": product.name,
        "slug": product.slug,
        "description": product.description,
        "price": str(product.price),
        "stock": str(product.stock),
        "is_active": "on",
    }
    data.update(changes)
    return data


def test_admin_login_page_renders(client):
    response = client.get("/admin/login/")
    assert response.status_code == 200
    assert b"Webshop administration" in response.content


def test_admin_requires_staff(client):
    shopper = User.objects.create_user("shopper@example.com", "a-long-password-1")
    client.force_login(shopper)
    response = client.get("/admin/catalog/product/")
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_product_changelist_searches_and_filters(admin_client):
    kitchen = make_category(name="Kitchen")
    make_product(category=kitchen, name="Copper Pan")
    make_product(name="Garden Rake")
    response = admin_client.get("/admin/catalog/product/", {"q": "copper"})
    assert response.status_code == 200
    assert b"Copper Pan" in response.content
    assert b"Garden Rake" not in response.content
    response = admin_client.get("/admin/catalog/product/", {"category__id__exact": kitchen.pk})
    assert b"Copper Pan" in response.content
    assert b"Garden Rake" not in response.content


def test_stock_is_editable_from_the_list(admin_client):
    product = make_product(stock=5)
    response = admin_client.post(
        "/admin/catalog/product/",
        {
            "form-TOTAL_FORMS": "1",
            "form-INITIAL_FORMS": "1",
            "form-0-id": product.pk,
            "form-0-price": "9.99",
            "form-0-stock": "42",
            "form-0-is_active": "on",
            "_save": "Save",
        },
    )
    assert response.status_code == 302
    product.refresh_from_db()
    assert product.stock == 42


@pytest.mark.parametrize(
    ("field", "value"),
    [("price", "-1"), ("price", "0"), ("price", "abc"), ("price", "1e9"), ("stock", "-3")],
)
def test_invalid_price_or_stock_is_a_form_error(admin_client, field, value):
    product = make_product(price="9.99", stock=5)
    response = admin_client.post(
        f"/admin/catalog/product/{product.pk}/change/", product_form(product, **{field: value})
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors[field]
    product.refresh_from_db()
    assert (str(product.price), product.stock) == ("9.99", 5)


def test_image_upload_goes_to_media_storage(admin_client):
    product = make_product(slug="lamp")
    demo = DemoProduct("Home", "#336699", "Lamp", product.price, 1, "")
    upload = SimpleUploadedFile("lamp.jpg", product_image(demo).read(), "image/jpeg")
    response = admin_client.post(
        f"/admin/catalog/product/{product.pk}/change/", product_form(product, image=upload)
    )
    assert response.status_code == 302
    product.refresh_from_db()
    assert product.image.name.startswith("products/lamp")
    assert product.image.storage.exists(product.image.name)


def test_non_image_upload_is_rejected(admin_client):
    product = make_product()
    upload = SimpleUploadedFile("evil.jpg", b"<?php echo 1; ?>", "image/jpeg")
    response = admin_client.post(
        f"/admin/catalog/product/{product.pk}/change/", product_form(product, image=upload)
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["image"]


def test_admin_can_add_a_product(admin_client):
    category = make_category()
    response = admin_client.post(
        "/admin/catalog/product/add/",
        {
            "category": category.pk,
            "name": "Oak Bookends",
            "slug": "oak-bookends",
            "price": "24.00",
            "stock": "7",
            "is_active": "on",
        },
    )
    assert response.status_code == 302
    assert Product.objects.get(slug="oak-bookends").stock == 7
