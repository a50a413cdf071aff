"""Catalogue pages rendered from one shell for every visitor (webapp/pages.py): what one
visitor sees of their own never reaches another, and text typed into the shop stays text."""

import re
from pathlib import Path

import pytest
from django.test import Client
from django.utils.autoreload import file_changed

from accounts.models import User
from catalog.models import Product
from tests.accounts.helpers import PASSWORD
from tests.cart.test_checkout import ADDRESS
from tests.factories import make_product

pytestmark = pytest.mark.django_db


def signed_in(email: str, display_name: str, **fields) -> Client:
    client = Client()
    user = User.objects.create_user(email, PASSWORD, display_name=display_name, **fields)
    client.force_login(user)
    return client


def csrf_token(page) -> str:
    return re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page.content)[1].decode()


@pytest.mark.parametrize("path", ["/", "/products/lamp/"])
def test_one_shell_serves_every_visitor_their_own_menu_forms_and_history(path):
    lamp = make_product(name="Lamp", slug="lamp")
    mug = make_product(name="Mug", slug="mug")
    ann, visitor = signed_in("ann@example.com", "Ann"), Client(enforce_csrf_checks=True)
    ann.get(mug.get_absolute_url())  # Ann has viewed the mug
    ann_page = ann.get(path)
    # The shell is cached: a rename that starts no new generation is not shown yet...
    Product.objects.filter(pk=lamp.pk).update(name="Renamed Lamp")
    visitor_page = visitor.get(path)
    assert b"Renamed" not in visitor_page.content and b"Lamp" in visitor_page.content
    # ...while each visitor's own parts are theirs alone.
    assert b"Hi, Ann" in ann_page.content and b"Recently viewed" in ann_page.content
    assert b"Hi, Ann" not in visitor_page.content and b"Log in" in visitor_page.content
    assert b"Recently viewed" not in visitor_page.content
    # Each page's CSRF token is its visitor's: adding with it works, and counts in their cart.
    form = {"product": lamp.pk, "quantity": 1, "next": path}
    posted = visitor.post("/cart/add/", {**form, "csrfmiddlewaretoken": csrf_token(visitor_page)})
    assert posted.status_code == 302
    after = visitor.get(path)
    assert b"Added" in after.content  # the message, shown once
    assert b'<span class="cart-count" aria-label="items in cart">1</span>' in after.content
    assert b'aria-label="items in cart">0</span>' in ann.get(path).content


@pytest.mark.parametrize("path", ["/", "/products/lamp/", "/cart/"])
def test_shoppers_of_one_audience_share_a_shell_but_see_only_their_own_name_and_cart(path):
    lamp = make_product(name="Lamp", slug="lamp")
    ann, bob = signed_in("ann@example.com", "Ann"), signed_in("bob@example.com", "Bob")
    bob.post("/cart/add/", {"product": lamp.pk, "quantity": 2})
    ann_page, bob_page = ann.get(path).content, bob.get(path).content
    assert b"Hi, Ann" in ann_page and b"Bob" not in ann_page
    assert b"Hi, Bob" in bob_page and b"Ann" not in bob_page
    assert b'aria-label="items in cart">0</span>' in ann_page
    assert b'aria-label="items in cart">2</span>' in bob_page
    # Staff are an audience of their own: the admin link is theirs alone.
    staff = signed_in("sam@example.com", "Sam", is_staff=True)
    assert b'href="/admin/"' in staff.get(path).content
    assert b'href="/admin/"' not in ann.get(path).content


def test_text_typed_into_the_shop_is_never_template_code():
    typed = "{{ user.email }} {% csrf_token %} <!--per-visitor-0-->"
    make_product(name="Odd Lamp", slug="odd", description=typed)
    for client in (signed_in("ann@example.com", "Ann"), Client()):
        page = client.get("/products/odd/")
        assert page.status_code == 200
        assert b"{{ user.email }} {% csrf_token %} &lt;!--per-visitor-0--&gt;" in page.content
        assert b"ann@example.com" not in page.content


def test_each_cart_page_shows_its_own_cart():
    lamp, mug = make_product(name="Lamp"), make_product(name="Mug")
    ann, visitor = signed_in("ann@example.com", "Ann"), Client()
    for client, product in ((ann, lamp), (visitor, mug)):
        client.post("/cart/add/", {"product": product.pk, "quantity": 1})
    ann_cart, visitor_cart = ann.get("/cart/").content, visitor.get("/cart/").content
    assert b"Lamp" in ann_cart and b"Mug" not in ann_cart and b"Hi, Ann" in ann_cart
    assert b"Mug" in visitor_cart and b"Lamp" not in visitor_cart and b"Log in" in visitor_cart


def test_each_checkout_review_shows_its_own_order_and_address():
    lamp, mug = make_product(name="Lamp"), make_product(name="Mug")
    reviews = []
    for email, name, product, city in (
        ("ann@example.com", "Ann", lamp, "Bristol"),
        ("bob@example.com", "Bob", mug, "Leeds"),
    ):
        shopper = signed_in(email, name)  # one audience, one shell
        shopper.post("/cart/add/", {"product": product.pk, "quantity": 1})
        shopper.post("/checkout/", {**ADDRESS, "city": city})
        reviews.append(shopper.get("/checkout/review/").content)
    ann_review, bob_review = reviews
    assert b"Lamp" in ann_review and b"Bristol" in ann_review and b"Hi, Ann" in ann_review
    assert b"Mug" not in ann_review and b"Leeds" not in ann_review
    assert b"Mug" in bob_review and b"Leeds" in bob_review and b"Hi, Bob" in bob_review
    assert b"Lamp" not in bob_review and b"Bristol" not in bob_review


def test_an_edited_template_shows_on_the_next_request_under_runserver():
    """runserver's reloader sends file_changed; shells and cards built from the old
    template go with Django's own cached templates."""
    lamp = make_product(name="Lamp", slug="lamp")
    client = Client()
    client.get("/products/lamp/")
    Product.objects.filter(pk=lamp.pk).update(name="Renamed Lamp")  # no new generation
    app_templates = Path(__file__).parents[2] / "catalog" / "templates" / "catalog"
    for not_a_template in (app_templates.parents[1] / "views.py", Path("/tmp/notes.html")):
        file_changed.send(sender=None, file_path=not_a_template)
        assert b"Renamed" not in client.get("/products/lamp/").content
    file_changed.send(sender=None, file_path=app_templates / "product_detail.html")
    assert b"Renamed Lamp" in client.get("/products/lamp/").content
