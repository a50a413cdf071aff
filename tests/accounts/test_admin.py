import pytest

from accounts.models import User
from tests.accounts.helpers import admin_log_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    admin = User.objects.create_superuser("admin@example.com", "admin-password-1")
    admin_log_in(client, admin, "admin-password-1")
    return client


def test_users_are_searchable_and_filterable(admin_client):
    User.objects.create_user("ann@example.com", "x", newsletter=True, display_name="Ann")
    User.objects.create_user("bob@example.com", "x")
    found = admin_client.get("/admin/accounts/user/", {"q": "ann"})
    assert b"ann@example.com" in found.content and b"bob@example.com" not in found.content
    subscribed = admin_client.get("/admin/accounts/user/", {"newsletter__exact": "1"})
    assert b"ann@example.com" in subscribed.content
    assert b"bob@example.com" not in subscribed.content


def test_user_page_shows_preferences_and_flags(admin_client):
    user = User.objects.create_user("ann@example.com", "x", products_per_page=48)
    page = admin_client.get(f"/admin/accounts/user/{user.pk}/change/")
    assert page.status_code == 200
    for field in [b"products_per_page", b"default_sort", b"newsletter", b"is_staff", b"is_active"]:
        assert field in page.content


def test_admin_can_deactivate_a_user(admin_client):
    user = User.objects.create_user("ann@example.com", "x")
    response = admin_client.post(
        "/admin/accounts/user/",
        {"action": "deactivate_users", "_selected_action": [user.pk]},
    )
    assert response.status_code == 302
    user.refresh_from_db()
    assert not user.is_active
