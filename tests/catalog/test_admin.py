import uuid

import pytest
from django import forms
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.models import User
from cart import selectors as cart_selectors
from cart import services as cart_services
from catalog.demo import DemoProduct, product_image
from catalog.models import Product
from tests.accounts.helpers import admin_log_in
from tests.factories import make_category, make_product

pytestmark = pytest.mark.django_db
ADDRESS = {"full_name": "B", "line1": "1 Road", "city": "Leeds", "postcode": "LS1", "country": "UK"}


@pytest.fixture
def admin_client(client):
    admin = User.objects.create_superuser("admin@example.com", "a-long-admin-password")
    admin_log_in(client, admin, "a-long-admin-password")
    return client


def product_form(product, **changes):
    data = {
        "category": product.category_id,
        "name": product.name,
        "slug": product.slug,
        "description": product.description,
        "price": str(product.price),
        "stock_change": "",
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


def sell(product, quantity: int, times: int) -> None:
    """`times` checkouts of `quantity` units, through the shop's own order placement."""
    for n in range(times):
        buyer = User.objects.create_user(f"buyer{product.pk}-{n}@example.com", "pw-1234567890")
        cart_id = cart_services.cart_open(user=buyer, session_key=None)
        cart_services.cart_add_line(cart_id=cart_id, product_id=product.pk, quantity=quantity)
        lines = cart_selectors.cart_lines(cart_id=cart_id)
        cart_services.order_place(
            user=buyer,
            email=buyer.email,
            cart_id=cart_id,
            address=ADDRESS,
            idempotency_key=uuid.uuid4(),
            fingerprint=cart_services.cart_fingerprint(lines),
            site="http://testserver",
        )


def as_posted(form) -> dict:
    """What the browser posts back for a form rendered with its current values."""
    data = {}
    for name, field in form.fields.items():
        value = form[name].value()
        if isinstance(field, forms.FileField):
            continue  # a browser sends no file unless one is chosen
        if isinstance(field, forms.BooleanField):
            if value:
                data[form.add_prefix(name)] = "on"
        elif value is not None:
            data[form.add_prefix(name)] = value
    return data


def test_saving_only_the_price_keeps_the_sales_made_since_the_form_loaded(admin_client):
    product = make_product(price="10.00", stock=100)
    page = admin_client.get(f"/admin/catalog/product/{product.pk}/change/")
    sell(product, quantity=2, times=5)
    data = {**as_posted(page.context["adminform"].form), "price": "12.00"}
    response = admin_client.post(f"/admin/catalog/product/{product.pk}/change/", data)
    assert response.status_code == 302
    product.refresh_from_db()
    assert (str(product.price), product.stock) == ("12.00", 90)


def test_saving_the_list_keeps_the_sales_made_since_it_loaded(admin_client):
    product = make_product(price="10.00", stock=100)
    page = admin_client.get("/admin/catalog/product/")
    formset = page.context["cl"].formset
    sell(product, quantity=2, times=5)
    data = {**as_posted(formset.management_form), "_save": "Save"}
    for form in formset:
        data.update(as_posted(form))
    data[formset.forms[0].add_prefix("price")] = "12.00"
    assert admin_client.post("/admin/catalog/product/", data).status_code == 302
    product.refresh_from_db()
    assert (str(product.price), product.stock) == ("12.00", 90)


def test_received_stock_is_added_to_what_is_left(admin_client):
    product = make_product(stock=100)
    page = admin_client.get(f"/admin/catalog/product/{product.pk}/change/")
    sell(product, quantity=2, times=3)
    data = {**as_posted(page.context["adminform"].form), "stock_change": "5"}
    response = admin_client.post(f"/admin/catalog/product/{product.pk}/change/", data, follow=True)
    product.refresh_from_db()
    assert product.stock == 100 - 6 + 5
    assert b"is now 99" in response.content


def test_writing_off_more_than_is_left_is_a_form_error(admin_client):
    product = make_product(price="9.99", stock=5)
    response = admin_client.post(
        f"/admin/catalog/product/{product.pk}/change/", product_form(product, stock_change="-6")
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["stock_change"]
    product.refresh_from_db()
    assert product.stock == 5


@pytest.mark.parametrize(
    ("field", "value"),
    [("price", "-1"), ("price", "0"), ("price", "abc"), ("price", "1e9"), ("stock_change", "x")],
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
