import pytest
from django.core.cache import cache
from django.test import Client

from accounts.models import User
from catalog import history
from catalog.models import VISITOR_SESSION_KEY, RecentView
from catalog.services import recently_viewed_save
from tests.accounts.helpers import PASSWORD
from tests.factories import make_category, make_product
from webapp.models import Session

pytestmark = pytest.mark.django_db


@pytest.fixture
def products():
    category = make_category()
    return [make_product(category=category, name=f"Thing {n:02d}") for n in range(12)]


def shown(response):
    return [product.name for product in response.context.get("recently_viewed", [])]


def test_anonymous_visitor_sees_recent_products_newest_first(client, products):
    for product in products[:3]:
        client.get(product.get_absolute_url())
    assert shown(client.get("/")) == ["Thing 02", "Thing 01", "Thing 00"]
    # the product page lists the others, not itself
    assert shown(client.get(products[1].get_absolute_url())) == ["Thing 02", "Thing 00"]
    assert shown(client.get("/")) == ["Thing 01", "Thing 02", "Thing 00"]


def test_only_the_last_ten_are_kept(client, products):
    for product in products:
        client.get(product.get_absolute_url())
    names = shown(client.get("/"))
    assert len(names) == 10
    assert names[0] == "Thing 11" and "Thing 00" not in names


def test_category_and_search_pages_do_not_show_them(client, products):
    client.get(products[0].get_absolute_url())
    assert shown(client.get(products[0].category.get_absolute_url())) == []
    assert shown(client.get("/?q=thing")) == []


def test_retired_products_drop_out(client, products, django_capture_on_commit_callbacks):
    client.get(products[0].get_absolute_url())
    client.get(products[1].get_absolute_url())
    with django_capture_on_commit_callbacks(execute=True):
        products[0].is_active = False
        products[0].save()
    assert shown(client.get("/")) == ["Thing 01"]


def test_history_moves_into_the_account_at_login_and_follows_it(client, products):
    User.objects.create_user("ann@example.com", PASSWORD, email_verified=True)
    client.get(products[0].get_absolute_url())
    client.get(products[1].get_absolute_url())
    client.post("/accounts/login/", {"username": "ann@example.com", "password": PASSWORD})
    visitor = client.session[VISITOR_SESSION_KEY]  # kept across the login's new session key
    assert cache.get(history.visitor_key(visitor)) is None  # moved into the account
    client.get(products[2].get_absolute_url())
    expected = ["Thing 02", "Thing 01", "Thing 00"]
    assert shown(client.get("/")) == expected

    other_browser = Client()
    other_browser.post("/accounts/login/", {"username": "ann@example.com", "password": PASSWORD})
    assert shown(other_browser.get("/")) == expected


def test_viewing_products_writes_no_session_after_the_first(client, products):
    """Recently viewed is soft state in Redis: a visitor's session is written once, when it
    is created, however many products they view."""
    client.get(products[0].get_absolute_url())
    row = Session.objects.get(session_key=client.session.session_key)
    for product in products[1:6]:
        client.get(product.get_absolute_url())
    expected = ["Thing 05", "Thing 04", "Thing 03", "Thing 02", "Thing 01", "Thing 00"]
    assert shown(client.get("/")) == expected
    again = Session.objects.get(session_key=row.session_key)
    assert (again.session_data, again.expire_date) == (row.session_data, row.expire_date)


@pytest.fixture
def ann(client):
    user = User.objects.create_user("ann@example.com", PASSWORD, email_verified=True)
    client.force_login(user)
    return user


def saved(user) -> list[str]:
    """The account's views as PostgreSQL holds them, newest first."""
    views = RecentView.objects.filter(user=user).order_by("-viewed_at")
    return list(views.values_list("product__name", flat=True))


def test_a_shoppers_views_are_saved_by_the_workers_not_the_request(
    client, ann, products, django_assert_num_queries
):
    """A signed-in shopper's list is soft state too: the request writes Redis only, every
    instance sees it at once, and the workers' save puts it in PostgreSQL."""
    client.get(products[0].get_absolute_url())
    for product in products[1:3]:
        with django_assert_num_queries(1):  # the product (not cached yet): no write
            client.get(product.get_absolute_url())
    assert saved(ann) == []
    other_browser = Client()
    other_browser.force_login(ann)
    assert shown(other_browser.get("/")) == ["Thing 02", "Thing 01", "Thing 00"]

    assert recently_viewed_save() == 1  # one account waited
    assert saved(ann) == ["Thing 02", "Thing 01", "Thing 00"]
    assert recently_viewed_save() == 0  # and is taken once


def test_a_login_keeps_the_views_the_workers_have_not_saved_yet(client, products):
    ann = User.objects.create_user("ann@example.com", PASSWORD, email_verified=True)
    phone = Client()
    phone.force_login(ann)
    phone.get(products[0].get_absolute_url())  # in Redis only, for now
    client.get(products[1].get_absolute_url())  # anonymous, in another browser
    client.post("/accounts/login/", {"username": "ann@example.com", "password": PASSWORD})
    assert shown(client.get("/")) == ["Thing 01", "Thing 00"]
    assert shown(phone.get("/")) == ["Thing 01", "Thing 00"]


def test_what_a_redis_restart_loses_is_the_views_not_saved_yet(client, ann, products):
    for product in products[:2]:
        client.get(product.get_absolute_url())
    recently_viewed_save()
    client.get(products[2].get_absolute_url())  # not saved yet
    cache.clear()  # Redis restarted empty
    assert shown(client.get("/")) == ["Thing 01", "Thing 00"]  # from PostgreSQL
    client.get(products[3].get_absolute_url())
    recently_viewed_save()
    assert saved(ann) == ["Thing 03", "Thing 01", "Thing 00"]


def test_views_of_withdrawn_products_and_closed_accounts_are_not_saved(
    client, ann, products, django_capture_on_commit_callbacks
):
    for product in products[:2]:
        client.get(product.get_absolute_url())
    products[0].delete()
    recently_viewed_save()
    assert saved(ann) == ["Thing 01"]
    client.get(products[2].get_absolute_url())
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/accounts/delete/", {"password": PASSWORD, "confirm": "on"})
    assert recently_viewed_save() == 0
    assert saved(ann) == []


def test_without_redis_the_request_saves_a_shoppers_views(client, ann, products, settings):
    """`make run`: each process has its own memory, where no worker could find the mark."""
    settings.CACHES = {
        **settings.CACHES,
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    }
    client.force_login(ann)  # the session, in the new cache
    client.get(products[0].get_absolute_url())
    client.get(products[1].get_absolute_url())
    assert saved(ann) == ["Thing 01", "Thing 00"]
    assert recently_viewed_save() == 0
