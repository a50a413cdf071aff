"""State follows the user, not the instance: two gunicorn masters share PostgreSQL and Redis."""

import re

import pytest
import requests

from deploy.servers.client import ShopClient
from tests.factories import make_category, make_product
from tests.servers import start_app_server

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.servers]
PASSWORD = "correct-horse-battery-9"
CONFIRM_LINK = r"/accounts/confirm/\S+/"


@pytest.fixture
def two_instances():
    first = start_app_server("instance-one")
    # One worker delivers the email, to the first server's SMTP server, where the test reads
    # the link (a second worker could take the task and send it to its own).
    second = start_app_server("instance-two", mail=False)
    yield first, second
    first.stop()
    second.stop()


def test_user_preferences_and_history_follow_to_another_instance(two_instances):
    first, second = two_instances
    category = make_category()
    lamp = make_product(category=category, name="Brass Lamp", price="80.00")
    for n in range(20):
        make_product(category=category, name=f"Filler {n:02d}", price="5.00")
    browser = ShopClient(first.url)

    signed_up = browser.post(
        f"{first.url}/accounts/signup/",
        {"email": "ann@example.com", "password1": PASSWORD, "password2": PASSWORD},
    )
    assert signed_up.headers["X-Served-By"] == "instance-one"
    confirmed = browser.post(first.url + first.link_in_mail(CONFIRM_LINK), {})
    assert confirmed.status_code == 302
    browser.post(
        f"{first.url}/accounts/preferences/",
        {"display_name": "Ann", "products_per_page": "12", "default_sort": "-price"},
    )
    browser.get(f"{first.url}{lamp.get_absolute_url()}")

    home = browser.get(f"{second.url}/")
    assert home.headers["X-Served-By"] == "instance-two"
    assert "Hi, Ann" in home.text
    assert home.text.count('class="product-card"') == 12 + 1  # a page of 12, plus the lamp
    assert re.search(r"Recently viewed.*Brass Lamp", home.text, re.S)
    first_card = re.search(r'class="product-name">([^<]+)<', home.text).group(1)
    assert first_card == "Brass Lamp"  # dearest first: the preferred sort

    old_session = browser.http.cookies["sessionid"]
    assert browser.post(f"{second.url}/accounts/logout/", {}).status_code == 302
    stale = requests.get(
        f"{first.url}/accounts/preferences/",
        cookies={"sessionid": old_session},
        allow_redirects=False,
        timeout=10,
    )
    assert stale.status_code == 302
    assert stale.headers["Location"].startswith("/accounts/login/")


def test_login_on_one_instance_is_known_to_the_other(two_instances):
    first, second = two_instances
    browser = ShopClient(first.url)
    browser.post(
        f"{first.url}/accounts/signup/",
        {"email": "bob@example.com", "password1": PASSWORD, "password2": PASSWORD},
    )
    browser.post(first.url + first.link_in_mail(CONFIRM_LINK), {})
    browser.post(f"{first.url}/accounts/logout/", {})
    logged_in = browser.post(
        f"{second.url}/accounts/login/",
        {"username": "bob@example.com", "password": PASSWORD},
    )
    assert logged_in.status_code == 302
    page = browser.get(f"{first.url}/accounts/preferences/")
    assert page.status_code == 200
    assert "bob@example.com" in page.text
