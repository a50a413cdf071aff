"""Your data: the export holds exactly the account's data; closing the account leaves no
personal data anywhere in the database, and keeps the orders for the books."""

import json

import pytest
from django.db import connection
from django.test import Client, TestCase

from accounts.models import Address, FormDraft, User
from cart.models import Cart, Order
from catalog.models import Pick, RecentView
from catalog.services import recently_viewed_save
from tests.accounts.helpers import PASSWORD, admin_log_in
from tests.cart.helpers import add
from tests.cart.test_checkout import check_out
from tests.factories import make_product
from tests.mail import outbox
from webapp.models import Session

pytestmark = pytest.mark.django_db


def shopper(email: str, name: str, city: str, product_names: list[str]) -> tuple[User, Client]:
    """A shopper with a bit of everything: profile, address, an order, a cart, views,
    a pick, a draft, a failed login and two sessions."""
    user = User.objects.create_user(email, PASSWORD, email_verified=True, display_name=name)
    elsewhere = Client(REMOTE_ADDR="198.51.100.9")  # a success from here would reset it
    elsewhere.post("/accounts/login/", {"username": email, "password": "wrong-guess-1"})
    client = Client(HTTP_USER_AGENT="Mozilla/5.0 (X11; Linux x86_64) Firefox/121.0")
    client.post("/accounts/login/", {"username": email, "password": PASSWORD})
    Client().post("/accounts/login/", {"username": email, "password": PASSWORD})
    bought, viewed, picked = (make_product(name=n, stock=5) for n in product_names)
    address = {
        "full_name": f"{name} Surname",
        "line1": f"1 {name} Street",
        "line2": "",
        "city": city,
        "postcode": "AB1 2CD",
        "country": "United Kingdom",
    }
    add(client, bought)
    client.post("/checkout/review/", check_out(client, address))
    add(client, viewed)
    client.get(viewed.get_absolute_url())
    Pick.objects.create(user=user, product=picked, score=3)
    client.post("/accounts/drafts/checkout_address/", {"line1": f"Draft {name} Road"})
    return user, client


@pytest.fixture
def ann_and_bob():
    ann = shopper("ann@example.com", "Annabel", "Bristol", ["Lamp", "Rug", "Vase"])
    bob = shopper("bob@example.com", "Roberto", "Leeds", ["Kettle", "Mug", "Spoon"])
    return ann, bob


def test_export_is_everything_about_the_account_and_nothing_else(ann_and_bob):
    (_ann, client), _bob = ann_and_bob
    response = client.get("/accounts/export/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response["Content-Disposition"].startswith('attachment; filename="corner-shop-data-')
    text = response.content.decode()
    data = json.loads(text)
    assert data["profile"]["email"] == "ann@example.com"
    assert data["profile"]["display_name"] == "Annabel"
    assert [a["city"] for a in data["addresses"]] == ["Bristol"]
    [order] = data["orders"]
    assert order["shipped_to"]["full_name"] == "Annabel Surname"
    assert [line["product"] for line in order["lines"]] == ["Lamp"]
    assert data["cart"] == [{"product": "Rug", "quantity": 1}]
    assert [view["product"] for view in data["recently_viewed"]] == ["Rug"]
    assert data["picked_for_you"] == ["Vase"]
    assert [d["data"] for d in data["form_drafts"]] == [{"line1": "Draft Annabel Road"}]
    assert sorted(s["current"] for s in data["sessions"]) == [False, True]
    assert "Firefox 121 on Linux" in [s["browser"] for s in data["sessions"]]
    assert [f["failures"] for f in data["failed_logins"]] == [1]
    for bobs in ["bob@example.com", "Roberto", "Leeds", "Kettle", "Mug", "Spoon"]:
        assert bobs not in text


def test_export_needs_login_and_get(ann_and_bob):
    (_ann, client), _bob = ann_and_bob
    assert Client().get("/accounts/export/")["Location"].startswith("/accounts/login/")
    assert client.post("/accounts/export/").status_code == 405


def text_columns() -> list[tuple[str, str]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_schema = 'public' "
            "AND data_type IN ('character varying', 'text', 'jsonb', 'json', 'inet')"
        )
        return cursor.fetchall()


def rows_mentioning(needle: str) -> list[str]:
    """Every table.column in the database that holds `needle` anywhere, in any case."""
    found = []
    with connection.cursor() as cursor:
        for table, column in text_columns():
            cursor.execute(
                f'SELECT count(*) FROM "{table}" WHERE "{column}"::text ILIKE %s',  # noqa: S608
                [f"%{needle}%"],
            )
            if cursor.fetchone()[0]:
                found.append(f"{table}.{column}")
    return found


def close(client, password=PASSWORD, confirm="on"):
    with TestCase.captureOnCommitCallbacks(execute=True):  # sessions' cached copies go then
        return client.post("/accounts/delete/", {"password": password, "confirm": confirm})


def test_closing_the_account_leaves_no_personal_data_in_any_table(ann_and_bob):
    (_ann, client), _bob = ann_and_bob
    for needle in ["ann@example.com", "Annabel", "Bristol"]:
        assert rows_mentioning(needle)  # the search finds them while the account is open
    response = close(client)
    assert response["Location"] == "/"
    [goodbye] = [m for m in outbox() if "closed" in m.subject]  # delivered by the worker
    assert goodbye.to == ["ann@example.com"]
    for needle in ["ann@example.com", "Annabel", "Bristol"]:
        assert rows_mentioning(needle) == []  # the queue keeps no trace of the goodbye either
    assert rows_mentioning("bob@example.com") and rows_mentioning("Roberto")  # Bob untouched


def test_closing_keeps_the_orders_for_the_books_and_deletes_the_rest(ann_and_bob):
    (ann, client), _bob = ann_and_bob
    placed = Order.objects.get(user=ann)
    close(client)
    order = Order.objects.get(pk=placed.pk)
    assert (order.total, order.payment_reference) == (placed.total, placed.payment_reference)
    assert order.country == "United Kingdom" and order.lines.get().product_name == "Lamp"
    assert (order.full_name, order.line1, order.city, order.postcode, order.email) == ("",) * 5
    recently_viewed_save()  # what the workers do every second: the views not saved are gone
    for model in [Session, Address, Cart, RecentView, Pick, FormDraft]:
        assert not model.objects.filter(user=ann).exists(), model
    ann.refresh_from_db()
    assert ann.erased_at and not ann.is_active and not ann.has_usable_password()
    assert str(ann) == f"erased account #{ann.pk}"
    assert client.get("/accounts/preferences/").status_code == 302  # signed out


def test_admins_see_erased_accounts_as_such(ann_and_bob):
    (ann, client), _bob = ann_and_bob
    close(client)
    admin = Client()
    admin_log_in(
        admin,
        User.objects.create_superuser("admin@example.com", "admin-password-1"),
        "admin-password-1",
    )
    listing = admin.get("/admin/accounts/user/", {"erased": "yes"})
    assert f"erased account #{ann.pk}".encode() in listing.content
    assert b"bob@example.com" not in listing.content
    page = admin.get(f"/admin/accounts/user/{ann.pk}/change/")
    assert b"Closed by the shopper" in page.content
    orders = admin.get("/admin/cart/order/")
    assert orders.status_code == 200


def test_the_address_can_sign_up_again(ann_and_bob):
    (_ann, client), _bob = ann_and_bob
    close(client)
    Client().post(
        "/accounts/signup/",
        {"email": "ann@example.com", "password1": PASSWORD, "password2": PASSWORD},
    )
    assert User.objects.filter(email="ann@example.com", is_active=False).exists()


@pytest.mark.parametrize(
    "password, confirm, field", [("wrong-one", "on", "password"), (PASSWORD, "", "confirm")]
)
def test_closing_needs_the_password_and_the_tick(ann_and_bob, password, confirm, field):
    (ann, client), _bob = ann_and_bob
    response = close(client, password, confirm)
    assert response.status_code == 400 and field in response.context["form"].errors
    ann.refresh_from_db()
    assert ann.email == "ann@example.com" and ann.erased_at is None
    assert Session.objects.filter(user=ann).count() == 2


def test_staff_accounts_are_closed_in_the_admin_not_here():
    admin = Client()
    admin_log_in(
        admin,
        User.objects.create_superuser("admin@example.com", "admin-password-1"),
        "admin-password-1",
    )
    assert close(admin, "admin-password-1").status_code == 403
    assert User.objects.get(email="admin@example.com").erased_at is None


def test_closing_needs_login_and_csrf(ann_and_bob):
    (ann, _client), _bob = ann_and_bob
    assert Client().get("/accounts/delete/")["Location"].startswith("/accounts/login/")
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(ann)
    assert close(strict).status_code == 403
    assert User.objects.get(pk=ann.pk).erased_at is None
