"""The address book: list, add, edit, delete, choose the default; owner-only."""

import pytest
from django.test import Client

from accounts.models import Address, User
from tests.accounts.helpers import PASSWORD
from tests.cart.helpers import add
from tests.cart.test_checkout import check_out
from tests.factories import make_product

pytestmark = pytest.mark.django_db
HOME = {
    "full_name": "Ann Lee",
    "line1": "1 High Street",
    "line2": "",
    "city": "Bristol",
    "postcode": "BS1 4DJ",
    "country": "United Kingdom",
}
WORK = {**HOME, "line1": "9 Quay Street", "postcode": "BS1 1JG"}


@pytest.fixture
def ann(client):
    user = User.objects.create_user("ann@example.com", PASSWORD, email_verified=True)
    client.force_login(user)
    return user


@pytest.fixture
def bobs_address():
    bob = User.objects.create_user("bob@example.com", PASSWORD, email_verified=True)
    return Address.objects.create(user=bob, **{**HOME, "full_name": "Bob Ray"})


def test_add_edit_and_delete_addresses(client, ann):
    assert client.get("/accounts/addresses/new/").context["form"].initial == {"full_name": ""}
    assert client.post("/accounts/addresses/new/", HOME)["Location"] == "/accounts/addresses/"
    home = Address.objects.get(user=ann)
    page = client.get("/accounts/addresses/")
    assert b"1 High Street" in page.content
    edited = client.post(f"/accounts/addresses/{home.pk}/", {**HOME, "line1": "2 High Street"})
    assert edited["Location"] == "/accounts/addresses/"
    home.refresh_from_db()
    assert home.line1 == "2 High Street"
    assert client.post(f"/accounts/addresses/{home.pk}/delete/").status_code == 302
    assert not Address.objects.exists()


def test_the_default_address_comes_first_at_checkout(client, ann):
    client.post("/accounts/addresses/new/", HOME)
    client.post("/accounts/addresses/new/", WORK)  # the most recently used
    home = Address.objects.get(line1="1 High Street")
    add(client, make_product())
    first = client.get("/checkout/").context["addresses"][0]
    assert first.line1 == "9 Quay Street"
    assert client.post(f"/accounts/addresses/{home.pk}/default/").status_code == 302
    ann.refresh_from_db()
    assert ann.default_address == home
    page = client.get("/checkout/")
    assert page.context["addresses"][0] == home
    assert page.context["form"].initial["line1"] == "1 High Street"
    assert b"Default" in client.get("/accounts/addresses/").content


def test_deleting_the_default_leaves_no_default(client, ann):
    client.post("/accounts/addresses/new/", HOME)
    home = Address.objects.get()
    client.post(f"/accounts/addresses/{home.pk}/default/")
    client.post(f"/accounts/addresses/{home.pk}/delete/")
    ann.refresh_from_db()
    assert ann.default_address is None


def test_orders_keep_the_address_they_were_sent_to(client, ann):
    add(client, make_product(stock=5))
    client.post("/checkout/review/", check_out(client, HOME))
    address = Address.objects.get()
    client.post(f"/accounts/addresses/{address.pk}/", {**HOME, "line1": "Elsewhere 5"})
    assert ann.orders.get().line1 == "1 High Street"


@pytest.mark.parametrize(
    "method, path",
    [
        ("get", "/accounts/addresses/{pk}/"),
        ("post", "/accounts/addresses/{pk}/"),
        ("post", "/accounts/addresses/{pk}/delete/"),
        ("post", "/accounts/addresses/{pk}/default/"),
    ],
)
def test_another_accounts_address_is_a_404_and_unchanged(client, ann, bobs_address, method, path):
    response = getattr(client, method)(path.format(pk=bobs_address.pk), {**HOME, "city": "Hull"})
    assert response.status_code == 404
    bobs_address.refresh_from_db()
    assert (bobs_address.city, bobs_address.full_name) == ("Bristol", "Bob Ray")
    ann.refresh_from_db()
    assert ann.default_address is None


@pytest.mark.parametrize("changes", [{"full_name": ""}, {"postcode": "x" * 21}, {"city": ""}])
def test_bad_addresses_are_form_errors(client, ann, changes):
    response = client.post("/accounts/addresses/new/", {**HOME, **changes})
    assert response.status_code == 200 and response.context["form"].errors
    assert not Address.objects.exists()


@pytest.mark.parametrize(
    "path",
    [
        "/accounts/addresses/0/",
        "/accounts/addresses/99999999999999999999/",
        "/accounts/addresses/x/",
    ],
)
def test_unknown_address_ids_are_404s(client, ann, path):
    assert client.get(path).status_code == 404


def test_address_book_needs_login_post_and_csrf(client, ann):
    client.post("/accounts/addresses/new/", HOME)
    home = Address.objects.get()
    assert Client().get("/accounts/addresses/")["Location"].startswith("/accounts/login/")
    assert client.get(f"/accounts/addresses/{home.pk}/delete/").status_code == 405
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(ann)
    assert strict.post(f"/accounts/addresses/{home.pk}/delete/").status_code == 403
    assert Address.objects.exists()
