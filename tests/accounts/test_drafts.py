"""Form drafts: what a signed-in shopper typed into the checkout address form follows them
to any device until they submit or discard it, for 30 days."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from accounts.models import FormDraft, User
from accounts.services import drafts_purge
from tests.accounts.helpers import PASSWORD
from tests.cart.helpers import add
from tests.cart.test_checkout import ADDRESS
from tests.factories import make_product

pytestmark = pytest.mark.django_db
DRAFT_URL = "/accounts/drafts/checkout_address/"


@pytest.fixture
def ann():
    return User.objects.create_user("ann@example.com", PASSWORD, email_verified=True)


@pytest.fixture
def laptop(ann):
    client = Client()
    client.force_login(ann)
    add(client, make_product())
    return client


def phone(user) -> Client:
    client = Client()
    client.force_login(user)
    add(client, make_product())
    return client


def test_a_draft_follows_the_shopper_to_another_device(laptop, ann):
    response = laptop.post(DRAFT_URL, {"full_name": "Ann Lee", "line1": "1 High St", "city": ""})
    assert response.status_code == 204
    assert FormDraft.objects.get(user=ann).data == {"full_name": "Ann Lee", "line1": "1 High St"}
    page = phone(ann).get("/checkout/")
    assert page.context["form"].initial == {"full_name": "Ann Lee", "line1": "1 High St"}
    assert b"We kept what you typed" in page.content
    assert b'data-draft-url="/accounts/drafts/checkout_address/"' in page.content


def test_each_save_replaces_the_draft(laptop, ann):
    laptop.post(DRAFT_URL, {"full_name": "An"})
    laptop.post(DRAFT_URL, {"full_name": "Ann", "city": "Bath"})
    assert list(FormDraft.objects.values_list("data", flat=True)) == [
        {"full_name": "Ann", "city": "Bath"}
    ]
    laptop.post(DRAFT_URL, {"full_name": ""})  # everything erased: no draft left
    assert not FormDraft.objects.exists()


def test_submitting_the_address_clears_the_draft(laptop, ann):
    laptop.post(DRAFT_URL, {"full_name": "Ann"})
    assert laptop.post("/checkout/", ADDRESS)["Location"] == "/checkout/review/"
    assert not FormDraft.objects.exists()
    assert b"We kept what you typed" not in phone(ann).get("/checkout/").content


def test_discarding_clears_the_draft_without_javascript(laptop, ann):
    laptop.post(DRAFT_URL, {"full_name": "Ann"})
    response = laptop.post(f"{DRAFT_URL}discard/")
    assert response["Location"] == "/checkout/"
    assert not FormDraft.objects.exists()


def test_drafts_expire_after_30_days(laptop, ann):
    laptop.post(DRAFT_URL, {"full_name": "Ann"})
    FormDraft.objects.update(updated_at=timezone.now() - timedelta(days=31))
    assert b"We kept what you typed" not in laptop.get("/checkout/").content
    laptop.post(DRAFT_URL, {"full_name": "Ann"})
    User.objects.create_user("bob@example.com", PASSWORD)
    FormDraft.objects.create(
        user=User.objects.get(email="bob@example.com"),
        form="checkout_address",
        data={"city": "Hull"},
        updated_at=timezone.now() - timedelta(days=31),
    )
    assert drafts_purge() == 1
    assert list(FormDraft.objects.values_list("user__email", flat=True)) == ["ann@example.com"]


def test_drafts_are_per_account(laptop, ann):
    laptop.post(DRAFT_URL, {"full_name": "Ann"})
    bob = User.objects.create_user("bob@example.com", PASSWORD, email_verified=True)
    assert phone(bob).get("/checkout/").context["form"].initial == {"full_name": ""}


@pytest.mark.parametrize(
    "path, data, status",
    [
        ("/accounts/drafts/no-such-form/", {"full_name": "Ann"}, 404),
        ("/accounts/drafts/no-such-form/discard/", {}, 404),
        (DRAFT_URL, {"postcode": "x" * 21}, 400),
        (DRAFT_URL, {"line1": "y" * 10_000}, 400),
    ],
)
def test_bad_drafts_are_refused_and_keep_nothing(laptop, path, data, status):
    assert laptop.post(path, data).status_code == status
    assert not FormDraft.objects.exists()


def test_fields_the_form_does_not_have_are_not_kept(laptop):
    laptop.post(DRAFT_URL, {"full_name": "Ann", "password": "secret", "is_staff": "on"})
    assert FormDraft.objects.get().data == {"full_name": "Ann"}


def test_drafts_need_a_signed_in_post_with_csrf(ann):
    assert Client().post(DRAFT_URL, {"full_name": "Ann"}).status_code == 302  # to log in
    signed_in = Client()
    signed_in.force_login(ann)
    assert signed_in.get(DRAFT_URL).status_code == 405
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(ann)
    assert strict.post(DRAFT_URL, {"full_name": "Ann"}).status_code == 403
    assert not FormDraft.objects.exists()


def test_guests_keep_no_drafts():
    guest = Client()
    add(guest, make_product())
    page = guest.get("/checkout/")
    assert page.status_code == 200 and b"data-draft-url" not in page.content
