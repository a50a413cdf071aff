"""Guest checkout: an email and an address, no account; stock, idempotency and the cart
fingerprint hold exactly as for accounts; a signed, expiring link shows the order; an account
that proves it owns the email takes the orders over."""

import re
import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import signing
from django.test import Client, TestCase

from accounts.models import User
from cart.models import GUEST_ORDER_LINK_DAYS, Order, guest_order_path
from catalog.models import Product
from tests.accounts.helpers import PASSWORD, confirmed_user, sign_up
from tests.cart.helpers import add, quantities
from tests.cart.test_checkout import ADDRESS, review_form
from tests.factories import make_product
from tests.mail import outbox

pytestmark = pytest.mark.django_db
GUEST = {"email": "Guest@Example.com", **ADDRESS}
ORDER_LINK = r"http://testserver(/orders/guest/\S+/)"


def guest_check_out(client, details=GUEST) -> dict:
    assert client.post("/checkout/", details)["Location"] == "/checkout/review/"
    return review_form(client)


def place(client, form):
    with TestCase.captureOnCommitCallbacks(execute=True):  # the confirmation goes on commit
        return client.post("/checkout/review/", form)


def test_a_guest_buys_with_an_email_and_an_address(client):
    lamp = make_product(name="Lamp", price="20.00", stock=5)
    add(client, lamp, 2)
    form = guest_check_out(client)
    assert b"guest@example.com" in client.get("/checkout/review/").content
    response = place(client, form)
    order = Order.objects.get()
    assert (order.user, order.email, order.total) == (None, "guest@example.com", Decimal("40.00"))
    assert (order.full_name, order.city) == ("Ann Lee", "Bristol")
    assert Product.objects.get().stock == 3 and quantities() == {}
    assert response["Location"].startswith("/orders/guest/")
    page = client.get(response["Location"])
    assert b"Thank you!" in page.content and b"Lamp" in page.content
    [confirmation] = outbox()
    assert confirmation.to == ["guest@example.com"]
    link = re.search(ORDER_LINK, confirmation.body).group(1)
    assert Client().get(link).status_code == 200  # any browser with the link


def test_the_same_guest_form_submitted_twice_makes_one_order(client):
    add(client, make_product(stock=5), 2)
    form = guest_check_out(client)
    first, second = place(client, form), place(client, form)
    assert first["Location"].startswith("/orders/guest/")
    assert second["Location"].startswith("/orders/guest/")  # the same order's page
    assert Order.objects.count() == 1 and Product.objects.get().stock == 3
    assert client.session["checkout"] == {"email": "guest@example.com"}  # no address kept


def test_a_guest_cart_changed_after_review_is_not_ordered(client):
    lamp = make_product(stock=5)
    add(client, lamp)
    form = guest_check_out(client)
    add(client, lamp)  # another tab
    assert place(client, form)["Location"] == "/cart/"
    assert not Order.objects.exists() and Product.objects.get().stock == 5


def test_stock_gone_before_a_guest_pays_changes_nothing(client):
    mug = make_product(name="Mug", stock=5)
    add(client, mug, 3)
    form = guest_check_out(client)
    Product.objects.filter(pk=mug.pk).update(stock=1)
    response = client.post("/checkout/review/", form, follow=True)
    assert b"Mug is no longer in stock" in response.content
    assert not Order.objects.exists() and quantities() == {"Mug": 3}


def test_one_guests_key_cannot_fetch_another_guests_order(client):
    add(client, make_product(stock=5))
    form = guest_check_out(client)
    place(client, form)
    other = Client()
    add(other, make_product(stock=5))
    guest_check_out(other, {**GUEST, "email": "other@example.com"})
    response = other.post("/checkout/review/", form)  # the first guest's key
    assert response["Location"] == "/cart/"
    assert Order.objects.count() == 1


@pytest.mark.parametrize(
    "changes, field",
    [({"email": "not-an-email"}, "email"), ({"email": ""}, "email"), ({"city": ""}, "city")],
)
def test_bad_guest_details_are_form_errors(client, changes, field):
    add(client, make_product())
    response = client.post("/checkout/", {**GUEST, **changes})
    assert response.status_code == 200 and field in response.context["form"].errors
    assert "checkout" not in client.session


def test_review_without_the_first_step_goes_back_to_it(client):
    add(client, make_product())
    assert client.get("/checkout/review/")["Location"] == "/checkout/"


@pytest.mark.parametrize(
    "token", ["nonsense", "MTIz:1abc:forged", signing.dumps(10**30, salt="cart.guest-order")]
)
def test_forged_order_links_are_404s(client, token):
    add(client, make_product())
    place(client, guest_check_out(client))
    assert client.get(f"/orders/guest/{token}/").status_code == 404


def test_order_links_from_another_salt_are_404s(client):
    add(client, make_product())
    place(client, guest_check_out(client))
    order = Order.objects.get()
    assert client.get(f"/orders/guest/{signing.dumps(order.pk)}/").status_code == 404


def test_order_links_expire(client, monkeypatch):
    add(client, make_product())
    place(client, guest_check_out(client))
    link = guest_order_path(Order.objects.get().pk)
    later = time.time() + timedelta(days=GUEST_ORDER_LINK_DAYS, minutes=1).total_seconds()
    monkeypatch.setattr(signing.time, "time", lambda: later)
    assert client.get(link).status_code == 404


def test_guest_orders_are_not_in_anybodys_order_list(client):
    add(client, make_product())
    place(client, guest_check_out(client))
    order = Order.objects.get()
    assert client.get(f"/orders/{order.pk}/")["Location"].startswith("/accounts/login/")


def test_confirming_an_account_with_the_email_attaches_the_guest_orders(client):
    add(client, make_product())
    place(client, guest_check_out(client))
    sign_up(Client(), "guest@example.com")
    assert Order.objects.get().user is None  # not before the address is proven
    user = confirmed_user(Client(), "guest@example.com")
    assert Order.objects.get().user == user


def test_only_orders_with_that_email_are_attached(client):
    add(client, make_product())
    place(client, guest_check_out(client, {**GUEST, "email": "someone@example.com"}))
    confirmed_user(Client(), "guest@example.com")
    assert Order.objects.get().user is None


def test_logging_in_to_a_proven_account_attaches_later_guest_orders(client):
    ann = User.objects.create_user("guest@example.com", PASSWORD, email_verified=True)
    add(client, make_product())
    place(client, guest_check_out(client))
    browser = Client()
    browser.post("/accounts/login/", {"username": "guest@example.com", "password": PASSWORD})
    assert Order.objects.get().user == ann
    assert Order.objects.get().number.encode() in browser.get("/orders/").content


def test_an_unproven_account_takes_no_guest_orders(client):
    User.objects.create_user("guest@example.com", PASSWORD, email_verified=False)
    add(client, make_product())
    place(client, guest_check_out(client))
    Client().post("/accounts/login/", {"username": "guest@example.com", "password": PASSWORD})
    assert Order.objects.get().user is None
