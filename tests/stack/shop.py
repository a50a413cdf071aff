"""A shopper as the fault tests drive one: the shop's URLs and form fields, in one place."""

import json
import re
import textwrap
import time
from collections import Counter
from dataclasses import dataclass, field

import requests

from deploy.servers.client import ShopClient

LOGIN = "/accounts/login/"  # fields: username (the email), password, csrfmiddlewaretoken
SIGNED_IN_PAGE = "/cart/"  # the header greets a signed-in shopper: "Hi, <name>"
GREETING = "Hi, {name}"
CART_ADD = "/cart/add/"  # fields: product (id), quantity, csrfmiddlewaretoken; 302 when added
CATALOGUE = "/"
PRODUCT = "/products/{slug}/"
SIGN_UP = "/accounts/signup/"  # fields: email, password1, password2; 302 when accepted
PASSWORD_RESET = "/accounts/password/reset/"  # field: email; 302 whether or not it is known
CHECKOUT = "/checkout/"  # the shipping address (ADDRESS's fields); 302 to the review
REVIEW = "/checkout/review/"  # idempotency_key, fingerprint, test_payment; 302 to the order
ADDRESS = {
    "full_name": "Ann Lee",
    "line1": "1 High Street",
    "city": "Bristol",
    "postcode": "BS1 4DJ",
    "country": "United Kingdom",
}
TIMEOUT = 15  # seconds; a request slower than this counts as failed


@dataclass
class Outcome:
    """One request as the shopper saw it."""

    method: str
    path: str
    status: int | None  # None: no HTTP answer (connection refused or reset, timeout)
    served_by: str | None
    ok: bool
    lost: bool = False  # the shop forgot something it had acknowledged (a session, a cart line)
    note: str = ""
    at: float = field(default_factory=time.monotonic)  # when the answer (or error) came

    def __str__(self):
        where = f" from {self.served_by}" if self.served_by else ""
        return f"{self.method} {self.path}: {self.status or self.note}{where}"


@dataclass
class Shopper:
    base_url: str
    email: str
    password: str
    name: str
    served_by: Counter = field(default_factory=Counter)
    # Acknowledged (302) adds per product id, and adds whose outcome the shopper cannot know
    # (no answer, or a 5xx that may have come after the database committed the add).
    added: Counter = field(default_factory=Counter)
    maybe_added: Counter = field(default_factory=Counter)
    browser: ShopClient = field(init=False)

    def __post_init__(self):
        self.browser = ShopClient(self.base_url, timeout=TIMEOUT)

    def request(self, method: str, path: str, **kwargs) -> tuple[requests.Response | None, str]:
        try:
            response = self.browser.request(method, path, **kwargs)
        except requests.RequestException as error:
            return None, type(error).__name__
        served_by = response.headers.get("X-Served-By")
        if served_by:
            self.served_by[served_by] += 1
        return response, ""

    def _outcome(self, method, path, response, note, ok, lost=False) -> Outcome:
        return Outcome(
            method=method,
            path=path,
            status=response.status_code if response is not None else None,
            served_by=response.headers.get("X-Served-By") if response is not None else None,
            ok=ok,
            lost=lost,
            note=note,
        )

    def log_in(self) -> None:
        form, _ = self.request("GET", LOGIN)
        assert form is not None and form.status_code == 200, f"login page: {form}"
        response, note = self.request(
            "POST",
            LOGIN,
            data={"username": self.email, "password": self.password, **self.browser.csrf()},
        )
        assert response is not None and response.status_code == 302, (
            f"log in as {self.email}: {response.status_code if response else note}"
        )

    def browse(self, slug: str | None = None) -> Outcome:
        path = PRODUCT.format(slug=slug) if slug else CATALOGUE
        response, note = self.request("GET", path)
        ok = response is not None and response.status_code == 200
        return self._outcome("GET", path, response, note, ok)

    def check_signed_in(self) -> Outcome:
        """The shop still knows who this is: a page without the greeting, or a redirect to
        the login page, is a lost session."""
        response, note = self.request("GET", SIGNED_IN_PAGE)
        if response is None:
            return self._outcome("GET", SIGNED_IN_PAGE, response, note, ok=False)
        greeted = GREETING.format(name=self.name) in response.text
        signed_out = (response.status_code == 200 and not greeted) or (
            response.status_code == 302 and LOGIN in response.headers.get("Location", "")
        )
        return self._outcome(
            "GET",
            SIGNED_IN_PAGE,
            response,
            "signed out" if signed_out else note,
            ok=response.status_code == 200 and greeted,
            lost=signed_out,
        )

    def add_to_cart(self, product_id: int, quantity: int = 1) -> Outcome:
        """POST the add; 302 acknowledges it. An add that got no answer, or an error that
        may have come after the database committed it, may or may not be in the cart (the
        load balancer never replays a POST): it is counted as uncertain, not as added."""
        data = {"product": product_id, "quantity": quantity, **self.browser.csrf()}
        response, note = self.request("POST", CART_ADD, data=data)
        if response is not None and response.status_code == 302:
            self.added[product_id] += quantity
            return self._outcome("POST", CART_ADD, response, note, ok=True)
        if response is None or response.status_code >= 500:
            self.maybe_added[product_id] += quantity
        return self._outcome("POST", CART_ADD, response, note, ok=False)

    def request_password_reset(self) -> Outcome:
        response, note = self.request(
            "POST", PASSWORD_RESET, data={"email": self.email, **self.browser.csrf()}
        )
        ok = response is not None and response.status_code == 302
        return self._outcome("POST", PASSWORD_RESET, response, note, ok)

    def place_order(self, product_id: int) -> list[Outcome]:
        """Add one of a product, give the address, review, place: every request's outcome
        (the steps stop at the first that fails)."""
        outcomes = [self.add_to_cart(product_id)]
        if outcomes[-1].ok:
            outcomes.append(self._step("POST", CHECKOUT, 302, ADDRESS)[0])
        if outcomes[-1].ok:
            outcome, review = self._step("GET", REVIEW, 200)
            outcomes.append(outcome)
        if outcomes[-1].ok:
            form = dict(re.findall(r'name="(idempotency_key|fingerprint)" value="([^"]*)"', review))
            outcomes.append(self._step("POST", REVIEW, 302, {**form, "test_payment": "on"})[0])
        return outcomes

    def _step(self, method, path, expected, data=None) -> tuple[Outcome, str]:
        kwargs = {"data": {**data, **self.browser.csrf()}} if data is not None else {}
        response, note = self.request(method, path, **kwargs)
        ok = response is not None and response.status_code == expected
        text = response.text if response is not None else ""
        return self._outcome(method, path, response, note, ok), text


def sign_up(base_url: str, email: str, password: str) -> Outcome:
    """A new visitor signs up (the confirmation link goes to `email`)."""
    visitor = Shopper(base_url, email, password, name="")
    visitor.request("GET", SIGN_UP)
    data = {"email": email, "password1": password, "password2": password}
    response, note = visitor.request("POST", SIGN_UP, data={**data, **visitor.browser.csrf()})
    ok = response is not None and response.status_code == 302
    return visitor._outcome("POST", SIGN_UP, response, note, ok)


def cart_problems(shopper: Shopper, cart: dict[int, int]) -> list[str]:
    """Compare a shopper's cart in the database (empty when the test began) with what the
    shop acknowledged: every acknowledged add is there (nothing lost), and nothing beyond
    the adds whose outcome the shopper could not know."""
    problems = []
    for product in set(shopper.added) | set(shopper.maybe_added) | set(cart):
        low = shopper.added[product]
        high = low + shopper.maybe_added[product]
        if not low <= cart.get(product, 0) <= high:
            problems.append(
                f"{shopper.email} product {product}: {cart.get(product, 0)} in the cart, "
                f"{low} acknowledged, {shopper.maybe_added[product]} unanswered"
            )
    return problems


def stack_carts(stack, emails: list[str]) -> dict[str, dict[int, int]]:
    """Each user's cart lines as PostgreSQL holds them: {email: {product id: quantity}}."""
    code = textwrap.dedent(
        f"""
        import json
        from cart.models import CartLine
        carts = {{email: {{}} for email in {emails!r}}}
        lines = CartLine.objects.filter(cart__user__email__in={emails!r})
        for email, product, quantity in lines.values_list(
            "cart__user__email", "product_id", "quantity"
        ):
            carts[email][product] = quantity
        print(json.dumps(carts))
        """
    )
    carts = stack_json(stack, code)
    return {email: {int(k): v for k, v in lines.items()} for email, lines in carts.items()}


def empty_carts(stack, emails: list[str]) -> None:
    stack_json(
        stack,
        "from cart.models import CartLine; "
        f"print(CartLine.objects.filter(cart__user__email__in={emails!r}).delete()[0])",
    )


def stack_json(stack, code: str):
    """Run Python in `manage.py shell` on the stack's database; its last line is JSON."""
    output = stack.manage("shell", "--verbosity", "0", "--command", code)
    return json.loads(output.strip().splitlines()[-1])
