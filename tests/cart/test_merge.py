import pytest
from django.test import Client

from accounts.models import User
from cart.models import Cart
from tests.accounts.helpers import PASSWORD, link_in_last_mail, sign_up
from tests.cart.helpers import add, quantities
from tests.factories import make_product

pytestmark = pytest.mark.django_db


@pytest.fixture
def ann():
    return User.objects.create_user("ann@example.com", PASSWORD, email_verified=True)


def log_in(client):
    response = client.post(
        "/accounts/login/", {"username": "ann@example.com", "password": PASSWORD}
    )
    assert response.status_code == 302


def test_login_merges_the_anonymous_cart_and_deletes_it(client, ann):
    lamp, mug, tea = (make_product(name=n, stock=10) for n in ["Lamp", "Mug", "Tea"])
    other_browser = Client()
    log_in(other_browser)
    add(other_browser, lamp, 2)
    add(other_browser, tea, 1)

    add(client, lamp, 3)
    add(client, mug, 1)
    anonymous_cart = client.session["cart_id"]
    log_in(client)

    assert quantities(cart__user=ann) == {"Lamp": 5, "Mug": 1, "Tea": 1}
    assert not Cart.objects.filter(pk=anonymous_cart).exists()
    assert Cart.objects.count() == 1
    assert b">7<" in client.get("/cart/").content.replace(b" ", b"")  # header count
    assert quantities(cart__user=ann) == {"Lamp": 5, "Mug": 1, "Tea": 1}


def test_merged_quantities_are_capped_at_the_stock_but_kept(client, ann):
    lamp = make_product(name="Lamp", stock=4)
    other_browser = Client()
    log_in(other_browser)
    add(other_browser, lamp, 3)
    add(client, lamp, 3)
    log_in(client)
    assert quantities(cart__user=ann) == {"Lamp": 4}


def test_a_line_that_sold_out_meanwhile_is_kept_and_flagged(client, ann):
    lamp = make_product(name="Lamp", stock=4)
    add(client, lamp, 2)
    lamp.stock = 0
    lamp.save()
    log_in(client)
    assert quantities(cart__user=ann) == {"Lamp": 1}
    assert b"Sold out: please remove it." in client.get("/cart/").content


def test_a_second_browser_sees_the_same_cart(client, ann):
    log_in(client)
    add(client, make_product(name="Lamp"), 2)
    other_browser = Client()
    log_in(other_browser)
    assert [line.product.name for line in other_browser.get("/cart/").context["lines"]] == ["Lamp"]


def test_confirming_a_sign_up_keeps_the_cart(client):
    add(client, make_product(name="Lamp"), 2)
    sign_up(client)
    client.post(link_in_last_mail())
    assert quantities(cart__user__email="ann@example.com") == {"Lamp": 2}


def test_logout_leaves_the_account_cart_and_starts_empty(client, ann):
    log_in(client)
    add(client, make_product(name="Lamp"))
    client.post("/accounts/logout/")
    assert client.get("/cart/").context["lines"] == []
    assert quantities(cart__user=ann) == {"Lamp": 1}
