"""SQL per cart page and per add-to-cart: small, and the same for 1 line as for 50.
transactional_db so that nothing test-only (savepoints) is counted."""

import pytest
from django.urls import reverse

from accounts.models import User
from catalog.models import Product
from tests.cart.helpers import add
from tests.cart.test_checkout import ADDRESS, check_out
from tests.factories import make_category

pytestmark = pytest.mark.django_db(transaction=True)


def fill_cart(client, lines: int) -> Product:
    category = make_category()
    products = Product.objects.bulk_create(
        Product(category=category, name=f"P{n}", slug=f"p-{n}", price="2.00", stock=99)
        for n in range(lines + 1)
    )
    for product in products[:lines]:
        add(client, product)
    client.get("/")  # warms the cached category list, as in any running shop
    return products[lines]


@pytest.fixture
def logged_in(client):
    client.force_login(User.objects.create_user("ann@example.com", "x", email_verified=True))
    return client


@pytest.mark.parametrize("lines", [1, 50])
def test_cart_page_anonymous(client, django_assert_num_queries, lines):
    fill_cart(client, lines)
    with django_assert_num_queries(1):  # the lines with their products; count from Redis
        assert len(client.get("/cart/").context["lines"]) == lines


@pytest.mark.parametrize("lines", [1, 50])
def test_cart_page_logged_in(logged_in, django_assert_num_queries, lines):
    fill_cart(logged_in, lines)
    # The lines with their products; the user from the shared cache, the count from Redis.
    with django_assert_num_queries(1):
        page = logged_in.get("/cart/")
    assert len(page.context["lines"]) == lines
    for line in page.context["lines"]:  # the lines' forms post where Django would reverse
        for name in ("cart:line_update", "cart:line_remove"):
            assert f'action="{reverse(name, kwargs={"pk": line.pk})}"' in page.content.decode()


@pytest.mark.parametrize("lines", [1, 50])
def test_add_to_cart(logged_in, client, django_assert_num_queries, lines):
    extra = fill_cart(logged_in, lines)
    with django_assert_num_queries(1):  # the upsert, which checks the product (no user load)
        assert add(logged_in, extra).status_code == 302
    with django_assert_num_queries(1):  # adding more of it: the same one
        assert add(logged_in, extra).status_code == 302


def test_moving_on_to_the_review_reads_no_draft_and_no_suggested_address(
    logged_in, django_assert_num_queries
):
    """The address step's POST: the cart, the address book (find or add the address, mark
    it used), the draft's deletion, the session; what only a page shown needs is not read."""
    fill_cart(logged_in, 1)
    logged_in.post("/checkout/", ADDRESS)  # the address is in the book from here on
    with django_assert_num_queries(7) as moving_on:
        assert logged_in.post("/checkout/", ADDRESS)["Location"] == "/checkout/review/"
    reads = [q["sql"] for q in moving_on.captured_queries if q["sql"].lstrip().startswith("SELECT")]
    assert not [sql for sql in reads if "accounts_formdraft" in sql], reads
    assert len([sql for sql in reads if "accounts_address" in sql]) == 1, reads


def test_placing_an_order_reads_what_it_wrote_no_more(logged_in, django_assert_num_queries):
    """The review's POST: one transaction with the lines, the stock, the order and its
    lines, the emptied cart, the confirmation email queued (a savepoint, the email, its
    task, the email's task id); the session. The order's idempotency key is unique: a
    repeated submission finds it taken (or the cart empty) and gets the first order."""
    fill_cart(logged_in, 1)
    form = check_out(logged_in)
    with django_assert_num_queries(13) as placing:
        assert logged_in.post("/checkout/review/", form)["Location"].startswith("/orders/")
    statements = [q["sql"] for q in placing.captured_queries]
    assert not [sql for sql in statements if 'FROM "cart_orderline"' in sql], statements
    assert not [sql for sql in statements if 'FROM "notifications_email"' in sql], statements
