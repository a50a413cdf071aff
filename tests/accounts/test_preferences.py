import pytest

from accounts.models import User
from tests.accounts.helpers import PASSWORD
from tests.factories import make_category, make_product

pytestmark = pytest.mark.django_db


@pytest.fixture
def ann(client):
    user = User.objects.create_user("ann@example.com", PASSWORD, email_verified=True)
    client.force_login(user)
    return user


def save(client, **changes):
    data = {"display_name": "", "products_per_page": "24", "default_sort": "name", **changes}
    return client.post("/accounts/preferences/", data)


def test_preferences_require_login(client):
    response = client.get("/accounts/preferences/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/accounts/preferences/"


def test_products_per_page_and_sort_apply_to_every_list(client, ann):
    category = make_category()
    for n in range(30):
        make_product(category=category, name=f"Item {n:02d}", price=f"{n + 1}.00")
    assert save(client, products_per_page="12", default_sort="-price").status_code == 302
    for url in ["/", category.get_absolute_url(), "/?q=item"]:
        page = client.get(url).context["page"]
        assert len(page.object_list) == 12
        assert page.object_list[0].name == "Item 29"  # dearest first
    assert client.get("/?sort=name").context["page"].object_list[0].name == "Item 00"


def test_newsletter_opt_in_keeps_its_date(client, ann):
    save(client, newsletter="on")
    ann.refresh_from_db()
    assert ann.newsletter and ann.newsletter_opted_in_at is not None
    first_date = ann.newsletter_opted_in_at
    save(client, newsletter="on", display_name="Ann")
    ann.refresh_from_db()
    assert ann.newsletter_opted_in_at == first_date  # saving again keeps the original consent
    save(client)
    ann.refresh_from_db()
    assert not ann.newsletter and ann.newsletter_opted_in_at is None


def test_display_name_is_shown_escaped(client, ann):
    save(client, display_name='<img src=x onerror="alert(1)"> Zoë 🌿')
    page = client.get("/")
    assert b"Hi, &lt;img src=x onerror=&quot;alert(1)&quot;&gt; Zo\xc3\xab \xf0\x9f\x8c\xbf" in (
        page.content
    )
    assert b"<img src=x" not in page.content


def test_control_characters_are_dropped_from_the_display_name(client, ann):
    save(client, display_name="Ann\x00\x07 Lee")
    ann.refresh_from_db()
    assert ann.display_name == "Ann Lee"


@pytest.mark.parametrize(
    "changes",
    [
        {"products_per_page": "1000000"},
        {"products_per_page": "abc"},
        {"default_sort": "; DROP TABLE"},
        {"display_name": "x" * 10_000},
    ],
)
def test_bad_preferences_are_form_errors_and_change_nothing(client, ann, changes):
    response = save(client, **{"display_name": "Changed", **changes})
    assert response.status_code == 200
    assert response.context["form"].errors
    ann.refresh_from_db()
    assert (ann.display_name, ann.products_per_page, ann.default_sort) == ("", 24, "name")
