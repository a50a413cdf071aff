import re
import uuid
from decimal import Decimal

import pytest
from django.test import Client

from accounts.models import Address, User
from cart.models import CartLine, Order
from cart.services import order_change_status
from catalog.generations import generation_for_request
from catalog.models import LOW_STOCK, Product
from tests.accounts.helpers import PASSWORD, admin_log_in
from tests.cart.helpers import add, quantities
from tests.factories import make_product
from tests.mail import outbox

pytestmark = pytest.mark.django_db
ADDRESS = {
    "full_name": "Ann Lee",
    "line1": "1 High Street",
    "line2": "",
    "city": "Bristol",
    "postcode": "BS1 4DJ",
    "country": "United Kingdom",
}


@pytest.fixture
def ann(client):
    user = User.objects.create_user("ann@example.com", PASSWORD, email_verified=True)
    client.force_login(user)
    return user


def review_form(client) -> dict:
    page = client.get("/checkout/review/")
    assert page.status_code == 200
    form = page.context["form"]
    return {
        "idempotency_key": form.initial["idempotency_key"],
        "fingerprint": form.initial["fingerprint"],
        "test_payment": "on",
    }


def check_out(client, address=ADDRESS) -> dict:
    assert client.post("/checkout/", address).status_code == 302
    return review_form(client)


def test_checkout_places_an_order_at_todays_prices(client, ann, django_capture_on_commit_callbacks):
    lamp = make_product(name="Lamp", price="20.00", stock=5)
    mug = make_product(name="Mug", price="4.50", stock=5)
    add(client, lamp, 2)
    add(client, mug, 1)
    form = check_out(client)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/checkout/review/", form)
    order = Order.objects.get()
    assert response["Location"] == f"/orders/{order.pk}/"
    assert order.total == Decimal("44.50") and order.status == "placed"
    assert [(li.product_name, li.unit_price, li.quantity) for li in order.lines.all()] == [
        ("Lamp", Decimal("20.00"), 2),
        ("Mug", Decimal("4.50"), 1),
    ]
    assert (order.full_name, order.city) == ("Ann Lee", "Bristol")
    assert dict(Product.objects.values_list("name", "stock")) == {"Lamp": 3, "Mug": 4}
    assert quantities() == {}
    lamp.price = Decimal("99.00")
    lamp.save()
    page = client.get(response["Location"])
    assert b"Thank you!" in page.content and b"$20.00" in page.content
    assert outbox()[-1].to == ["ann@example.com"]
    assert order.number in outbox()[-1].subject


def test_the_address_is_saved_for_next_time(client, ann):
    add(client, make_product(stock=5))
    check_out(client)
    assert Address.objects.get(user=ann).city == "Bristol"
    page = client.get("/checkout/")
    assert b"1 High Street" in page.content
    assert client.post("/checkout/", {"address": Address.objects.get().pk}).status_code == 302
    assert Address.objects.count() == 1


def test_the_same_checkout_form_submitted_twice_makes_one_order(client, ann):
    add(client, make_product(name="Lamp", stock=5), 2)
    form = check_out(client)
    first = client.post("/checkout/review/", form)
    second = client.post("/checkout/review/", form)
    assert first["Location"] == second["Location"]
    assert Order.objects.count() == 1
    assert Product.objects.get().stock == 3


def test_a_cart_changed_after_review_is_not_ordered_blindly(client, ann):
    lamp = make_product(name="Lamp", stock=5)
    add(client, lamp, 1)
    form = check_out(client)
    add(client, lamp, 1)  # another tab
    response = client.post("/checkout/review/", form)
    assert response["Location"] == "/cart/"
    assert not Order.objects.exists()
    assert "changed since you reviewed" in str(list(client.get("/cart/").context["messages"]))


def test_stock_gone_at_checkout_says_so_and_changes_nothing(client, ann):
    lamp = make_product(name="Lamp", stock=5)
    mug = make_product(name="Mug", stock=5)
    add(client, lamp, 2)
    add(client, mug, 3)
    form = check_out(client)
    Product.objects.filter(pk=mug.pk).update(stock=1)
    response = client.post("/checkout/review/", form, follow=True)
    assert b"Mug is no longer in stock" in response.content
    assert not Order.objects.exists()
    assert dict(Product.objects.values_list("name", "stock")) == {"Lamp": 5, "Mug": 1}
    assert quantities() == {"Lamp": 2, "Mug": 3}


def test_anonymous_checkout_offers_login_or_guest_checkout(client):
    add(client, make_product())
    page = client.get("/checkout/")
    assert page.status_code == 200
    assert b'href="/accounts/login/?next=/checkout/"' in page.content
    assert "email" in page.context["form"].fields


def test_empty_or_flagged_cart_cannot_check_out(client, ann):
    assert client.get("/checkout/")["Location"] == "/cart/"
    lamp = make_product(stock=5)
    add(client, lamp, 3)
    Product.objects.filter(pk=lamp.pk).update(is_active=False)
    assert client.get("/checkout/")["Location"] == "/cart/"
    assert client.get("/checkout/review/")["Location"] == "/cart/"


@pytest.mark.parametrize(
    "changes",
    [{"full_name": ""}, {"postcode": "x" * 100}, {"city": ""}, {"line1": "y" * 10_000}],
)
def test_bad_addresses_are_form_errors(client, ann, changes):
    add(client, make_product())
    response = client.post("/checkout/", {**ADDRESS, **changes})
    assert response.status_code == 200 and response.context["form"].errors
    assert not Address.objects.exists()


def test_someone_elses_saved_address_is_refused(client, ann):
    bob = User.objects.create_user("bob@example.com", "x")
    bobs = Address.objects.create(user=bob, **ADDRESS)
    add(client, make_product())
    response = client.post("/checkout/", {"address": bobs.pk})
    assert response.status_code == 200
    assert "checkout" not in client.session


@pytest.mark.parametrize(
    "changes",
    [{"test_payment": ""}, {"idempotency_key": "not-a-uuid"}, {"fingerprint": ""}],
)
def test_bad_order_forms_place_nothing(client, ann, changes):
    add(client, make_product(stock=5))
    form = {**check_out(client), **changes}
    response = client.post("/checkout/review/", form)
    assert response.status_code == 400
    assert not Order.objects.exists() and Product.objects.get().stock == 5


def test_orders_are_visible_to_their_owner_only(client, ann):
    add(client, make_product())
    client.post("/checkout/review/", check_out(client))
    order = Order.objects.get()
    assert order.number.encode() in client.get("/orders/").content
    stranger = Client()
    stranger.force_login(User.objects.create_user("bob@example.com", "x"))
    assert stranger.get(f"/orders/{order.pk}/").status_code == 404
    assert order.number.encode() not in stranger.get("/orders/").content
    assert client.get("/orders/99999999/").status_code == 404
    assert client.get("/orders/9999999999999999999999/").status_code == 404


def test_status_moves_placed_paid_shipped_and_not_backwards(client, ann):
    add(client, make_product(stock=5))
    client.post("/checkout/review/", check_out(client))
    order = Order.objects.get()
    assert not order_change_status(order_id=order.pk, status="shipped")
    assert order_change_status(order_id=order.pk, status="paid")
    assert order_change_status(order_id=order.pk, status="shipped")
    assert not order_change_status(order_id=order.pk, status="cancelled")
    order.refresh_from_db()
    assert order.status == "shipped"


def test_cancelling_returns_the_stock_once(client, ann):
    add(client, make_product(name="Lamp", stock=5), 2)
    client.post("/checkout/review/", check_out(client))
    order = Order.objects.get()
    assert Product.objects.get().stock == 3
    assert order_change_status(order_id=order.pk, status="cancelled")
    assert not order_change_status(order_id=order.pk, status="cancelled")
    assert Product.objects.get().stock == 5


def test_orders_renew_cached_pages_only_when_they_change_what_pages_show(
    client, ann, rf, django_capture_on_commit_callbacks
):
    """Pages show the units left only when few are (LOW_STOCK): an order that leaves plenty
    keeps every cached catalogue page, one that leaves few shows on them at once."""
    lamp = make_product(name="Lamp", slug="lamp", stock=LOW_STOCK + 3)

    def order(quantity: int) -> int:
        add(client, lamp, quantity)
        form = check_out(client)
        with django_capture_on_commit_callbacks(execute=True):
            assert client.post("/checkout/review/", form).status_code == 302
        return generation_for_request(rf.get("/"))

    assert b"In stock" in client.get("/products/lamp/").content
    before = generation_for_request(rf.get("/"))
    assert order(2) == before  # LOW_STOCK + 1 left: still "In stock"
    assert b"In stock" in client.get("/products/lamp/").content
    assert order(2) != before
    assert f"Only {LOW_STOCK - 1} left".encode() in client.get("/products/lamp/").content
    with django_capture_on_commit_callbacks(execute=True):
        assert order_change_status(order_id=Order.objects.first().pk, status="cancelled")
    assert b"In stock" in client.get("/products/lamp/").content


def test_admin_lists_orders_with_lines_and_filters(client, ann):
    add(client, make_product(name="Lamp", stock=5), 2)
    client.post("/checkout/review/", check_out(client))
    order = Order.objects.get()
    admin = Client()
    admin_log_in(admin, User.objects.create_superuser("admin@example.com", "x"), "x")
    listing = admin.get("/admin/cart/order/", {"status__exact": "placed"})
    assert order.number.encode() in listing.content
    assert order.number.encode() not in admin.get("/admin/cart/order/?status__exact=paid").content
    detail = admin.get(f"/admin/cart/order/{order.pk}/change/")
    assert b"Lamp" in detail.content
    response = admin.post(
        "/admin/cart/order/", {"action": "mark_cancelled", "_selected_action": [order.pk]}
    )
    assert response.status_code == 302
    assert Product.objects.get().stock == 5
    admin.post("/admin/cart/order/", {"action": "mark_cancelled", "_selected_action": [order.pk]})
    assert Product.objects.get().stock == 5


def test_review_page_labels_the_test_payment(client, ann):
    add(client, make_product())
    client.post("/checkout/", ADDRESS)
    page = client.get("/checkout/review/").content.decode()
    assert re.search(r"<legend>Test payment</legend>", page)
    assert "no money moves" in page
    assert isinstance(uuid.UUID(review_form(client)["idempotency_key"].hex), uuid.UUID)
    assert CartLine.objects.count() == 1
