"""The account menu ("Hi, Sam" in the header) links every account page, and each of them
answers the signed-in shopper who follows the link."""

from html.parser import HTMLParser

import pytest
from django.urls import URLPattern, get_resolver, reverse

from accounts.models import User

pytestmark = pytest.mark.django_db

# What the menu offers, in its order: (URL name, method, what the shopper gets).
MENU = [
    ("accounts:account", "get", 200),
    ("accounts:preferences", "get", 200),
    ("accounts:addresses", "get", 200),
    ("cart:orders", "get", 200),
    ("accounts:devices", "get", 200),
    ("accounts:email_change", "get", 200),
    ("accounts:password_change", "get", 200),
    ("accounts:export", "get", 200),
    ("accounts:delete", "get", 200),
    ("accounts:logout", "post", 302),
]
# Account URLs without arguments that are not in the menu, and why.
NOT_IN_MENU = {
    "sign_up": "for visitors",
    "sign_up_done": "for visitors",
    "login": "for visitors",
    "password_reset": "for visitors, from the login page",
    "password_reset_done": "for visitors, after a reset",
    "password_reset_complete": "for visitors, after a reset",
    "address_add": "from the address book",
    "devices_sign_out_others": "a button on the devices page",
    "password_change_done": "after a password change",
}


class _MenuLinks(HTMLParser):
    """The links and forms inside <details class="account-menu">, as (method, URL)."""

    def __init__(self):
        super().__init__()
        self.depth = 0  # of <details> elements, once inside the menu
        self.links: list[tuple[str, str]] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "details" and (self.depth or "account-menu" in attrs.get("class", "")):
            self.depth += 1
        elif self.depth and tag == "a":
            self.links.append(("get", attrs["href"]))
        elif self.depth and tag == "form":
            self.links.append((attrs.get("method", "get").lower(), attrs["action"]))

    def handle_endtag(self, tag):
        if tag == "details" and self.depth:
            self.depth -= 1


def menu_links(html: str) -> list[tuple[str, str]]:
    parser = _MenuLinks()
    parser.feed(html)
    return parser.links


@pytest.fixture
def sam(client):
    client.force_login(User.objects.create_user("sam@example.com", "x", email_verified=True))
    return client


def test_the_menu_links_every_account_page(sam):
    links = menu_links(sam.get("/").content.decode())
    assert links == [(method, reverse(name)) for name, method, _status in MENU]
    linked = {name.removeprefix("accounts:") for name, _method, _status in MENU}
    _prefix, accounts = get_resolver().namespace_dict["accounts"]
    pages = {
        pattern.name
        for pattern in accounts.url_patterns
        if isinstance(pattern, URLPattern) and not pattern.pattern.converters
    }
    assert pages - linked - NOT_IN_MENU.keys() == set()  # a new page must join the menu


def test_every_menu_link_answers_the_shopper(sam):
    expected = {reverse(name): status for name, _method, status in MENU}
    for method, url in menu_links(sam.get("/accounts/").content.decode()):  # log out last
        assert (url, getattr(sam, method)(url).status_code) == (url, expected[url])
    assert sam.get("/accounts/")["Location"].startswith("/accounts/login/")  # signed out


def test_visitors_get_no_menu(client):
    assert menu_links(client.get("/").content.decode()) == []
