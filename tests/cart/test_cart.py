from datetime import timedelta

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from cart.models import Cart, CartLine
from tests.cart.helpers import add, quantities
from tests.factories import make_product

pytestmark = pytest.mark.django_db


def test_add_puts_the_product_in_a_database_cart_and_the_session_holds_its_id(client):
    lamp = make_product(name="Lamp", stock=5)
    response = add(client, lamp, 2, next="/products/lamp/")
    assert response.status_code == 302
    assert response["Location"] == "/products/lamp/"
    assert quantities() == {"Lamp": 2}
    assert client.session["cart_id"] == Cart.objects.get().pk
    assert set(client.session.keys()) >= {"cart_id"}


def test_adding_again_sums_into_one_line(client):
    lamp = make_product(name="Lamp", stock=5)
    add(client, lamp)
    add(client, lamp, 2)
    assert quantities() == {"Lamp": 3}
    assert CartLine.objects.count() == 1


def test_cart_page_shows_lines_totals_and_header_count(client):
    add(client, make_product(name="Lamp", price="10.00"), 2)
    add(client, make_product(name="Mug", price="4.50"), 1)
    page = client.get("/cart/")
    assert page.status_code == 200
    assert b"$20.00" in page.content and b"$4.50" in page.content
    assert page.context["subtotal"] == 24.5
    assert b'<span class="cart-count" aria-label="items in cart">3</span>' in page.content


def test_unsafe_next_url_is_ignored(client):
    response = add(client, make_product(), next="https://evil.example.com/")
    assert response["Location"] == "/cart/"


def test_change_quantity_and_remove(client):
    add(client, make_product(name="Lamp", stock=9))
    line = CartLine.objects.get()
    assert client.post(f"/cart/lines/{line.pk}/", {"quantity": 7}).status_code == 302
    assert quantities() == {"Lamp": 7}
    assert client.post(f"/cart/lines/{line.pk}/remove/").status_code == 302
    assert quantities() == {}
    assert b"Your cart is empty" in client.get("/cart/").content


def test_more_than_the_stock_is_refused_and_changes_nothing(client):
    lamp = make_product(name="Lamp", stock=3)
    add(client, lamp, 2)
    response = add(client, lamp, 2)
    assert response.status_code == 409
    assert b"at most 3 of Lamp" in response.content
    assert quantities() == {"Lamp": 2}
    line = CartLine.objects.get()
    assert client.post(f"/cart/lines/{line.pk}/", {"quantity": 4}).status_code == 409
    assert quantities() == {"Lamp": 2}


@pytest.mark.parametrize(
    ("fields", "message"),
    [({"is_active": False}, b"not for sale"), ({"stock": 0}, b"sold out")],
)
def test_inactive_or_sold_out_products_are_refused(client, fields, message):
    product = make_product(**fields)
    response = add(client, product)
    assert response.status_code == 409
    assert message in response.content
    assert not CartLine.objects.exists()


def test_lines_that_went_bad_are_flagged_and_block_checkout(client):
    lamp = make_product(name="Lamp", stock=5)
    mug = make_product(name="Mug", stock=5)
    add(client, lamp, 4)
    add(client, mug, 1)
    lamp.stock = 2
    lamp.save()
    page = client.get("/cart/")
    assert b"Only 2 left" in page.content
    assert page.context["can_check_out"] is False
    mug.is_active = False
    mug.save()
    assert b"No longer sold" in client.get("/cart/").content


# "1.0" and digits of other scripts (Arabic-Indic, full-width) pass Django's IntegerField.
BAD_QUANTITIES = ["0", "-1", "1.5", "1.0", "\u0663", "\uff13", "abc", "1e9", "", "9" * 21]


@pytest.mark.parametrize("quantity", BAD_QUANTITIES)
def test_bad_quantities_are_refused_and_change_nothing(client, quantity):
    product = make_product(stock=100)
    add(client, product, 1)
    line = CartLine.objects.get()
    assert add(client, product, quantity).status_code == 400
    assert client.post(f"/cart/lines/{line.pk}/", {"quantity": quantity}).status_code == 400
    assert CartLine.objects.get().quantity == 1


@pytest.mark.parametrize("product_id", ["0", "999999", "abc", "", "99999999999999999999999"])
def test_unknown_products_are_refused(client, product_id):
    response = client.post("/cart/add/", {"product": product_id, "quantity": 1})
    assert response.status_code in (400, 409)
    assert not CartLine.objects.exists()


def test_a_product_id_in_other_digits_is_refused(client):
    product = make_product(stock=100)
    arabic_indic = "".join(chr(0x0660 + int(d)) for d in str(product.pk))
    assert client.post("/cart/add/", {"product": arabic_indic, "quantity": 1}).status_code == 400
    assert not CartLine.objects.exists()


def test_another_visitors_line_is_a_404_and_stays(client):
    add(client, make_product(name="Lamp"), 2)
    line = CartLine.objects.get()
    stranger = Client()
    add(stranger, make_product(name="Mug"))
    assert stranger.post(f"/cart/lines/{line.pk}/", {"quantity": 1}).status_code == 404
    assert stranger.post(f"/cart/lines/{line.pk}/remove/").status_code == 404
    assert quantities(pk=line.pk) == {"Lamp": 2}


@pytest.mark.parametrize("url", ["/cart/add/", "/cart/lines/1/", "/cart/lines/1/remove/"])
def test_get_on_post_only_urls_is_405(client, url):
    assert client.get(url).status_code == 405


def test_post_without_csrf_token_is_403_and_changes_nothing():
    client = Client(enforce_csrf_checks=True)
    response = add(client, make_product())
    assert response.status_code == 403
    assert not CartLine.objects.exists()


def test_purge_removes_only_carts_untouched_for_n_days(client):
    add(client, make_product(name="Fresh"))
    add(Client(), make_product(name="Stale"))
    old = timezone.now() - timedelta(days=40)
    stale_cart = CartLine.objects.get(product__name="Stale").cart
    Cart.objects.filter(pk=stale_cart.pk).update(created_at=old)
    CartLine.objects.filter(cart=stale_cart).update(updated_at=old)
    call_command("purge_carts", days=30)
    assert quantities() == {"Fresh": 1}


@pytest.mark.django_db(transaction=True)
def test_a_visitor_whose_cart_was_purged_gets_a_new_one(client):
    add(client, make_product(name="Old"))
    Cart.objects.all().delete()
    assert add(client, make_product(name="New")).status_code == 302
    assert quantities() == {"New": 1}
