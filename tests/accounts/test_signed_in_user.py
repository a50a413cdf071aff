"""The signed-in user comes from the shared cache, and any change to the account, its
groups or their permissions applies on the very next request (accounts/middleware.py)."""

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Address, User, signed_in_user_cache_key

ADDRESS = {
    "full_name": "Sam Lee",
    "line1": "1 High Street",
    "city": "Bristol",
    "postcode": "BS1 4DJ",
    "country": "GB",
}

pytestmark = pytest.mark.django_db


@pytest.fixture
def shopper(client):
    user = User.objects.create_user("sam@example.com", "old password", email_verified=True)
    client.force_login(user)
    client.get("/cart/")  # the first request fills the cache
    return user


def user_on_next_request(client):
    """The user the next page sees, and whether loading it read the user table."""
    with CaptureQueriesContext(connection) as queries:
        user = client.get("/cart/").wsgi_request.user
        user.is_authenticated  # noqa: B018 (resolves the lazy user inside the capture)
    return user, any('"accounts_user"' in q["sql"] for q in queries.captured_queries)


def test_a_signed_in_page_reads_the_user_from_the_cache(client, shopper):
    user, read_table = user_on_next_request(client)
    assert user.pk == shopper.pk and user.is_authenticated
    assert not read_table


def test_the_password_hash_stays_out_of_redis_and_is_loaded_when_checked(client, shopper):
    _hash, cached = cache.get(signed_in_user_cache_key(shopper.pk))
    assert "password" in cached.get_deferred_fields()
    user, _ = user_on_next_request(client)
    assert user.check_password("old password")  # e.g. the password change form


def test_staff_and_superuser_changes_apply_on_the_next_request(client, shopper):
    shopper.is_staff = shopper.is_superuser = True
    shopper.save()
    user, read_table = user_on_next_request(client)
    assert (user.is_staff, user.is_superuser, read_table) == (True, True, True)
    User.objects.filter(pk=shopper.pk).first().save()  # e.g. the admin's change form
    shopper.is_staff = shopper.is_superuser = False
    shopper.save()
    user, _ = user_on_next_request(client)
    assert (user.is_staff, user.is_superuser) == (False, False)


def test_a_deactivated_or_deleted_account_is_signed_out_on_the_next_request(client, shopper):
    shopper.is_active = False
    shopper.save()
    user, _ = user_on_next_request(client)
    assert not user.is_authenticated


def test_a_password_changed_elsewhere_signs_this_session_out(client, shopper):
    shopper.set_password("new password")
    shopper.save()
    user, _ = user_on_next_request(client)
    assert not user.is_authenticated


def test_group_and_permission_changes_apply_on_the_next_request(client, shopper):
    editors = Group.objects.create(name="editors")
    change_product = Permission.objects.get(codename="change_product")
    shopper.groups.add(editors)
    user, read_table = user_on_next_request(client)
    assert read_table and not user.has_perm("catalog.change_product")
    editors.permissions.add(change_product)
    user, read_table = user_on_next_request(client)
    assert read_table and user.has_perm("catalog.change_product")
    editors.user_set.clear()
    user, read_table = user_on_next_request(client)
    assert read_table and not user.has_perm("catalog.change_product")


def test_the_default_address_set_or_deleted_shows_on_the_next_request(client, shopper):
    """Both are UPDATEs of the user row that send no post_save."""
    home = Address.objects.create(user=shopper, **ADDRESS)
    assert client.post(f"/accounts/addresses/{home.pk}/default/").status_code == 302
    user, _ = user_on_next_request(client)
    assert user.default_address_id == home.pk
    assert client.post(f"/accounts/addresses/{home.pk}/delete/").status_code == 302
    user, _ = user_on_next_request(client)
    assert user.default_address_id is None
    assert client.get("/checkout/").status_code in (200, 302)
