"""A shopper as the fault tests drive one: the shop's URLs and form fields, in one place."""

import html
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
CHECKOUT = "/checkout/"  # the address form (ADDRESS); 302 to the review
ADDRESS = {"full_name": "A Shopper", "line1": "1 Test Street", "city": "Testville"} | {
    "postcode": "T1 1ST",
    "country": "Testland",
}
REVIEW = "/checkout/review/"  # hidden idempotency_key and fingerprint; 302 to the payment page
# With Stripe on (the stack), the review leads here. Field: payment_method, what Stripe.js
# makes of a card; the shopper sends Stripe's test card pm_card_visa, and the shop confirms
# the PaymentIntent with it at (the fake) Stripe; 302 to the order.
PAY_PAGE = re.compile(r"^/orders/(\d+)/pay/$")
TEST_CARD = "pm_card_visa"
ORDER_PAGE = re.compile(r"^/orders/(\d+)/$")
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
    sent: float = 0.0  # when the request went out

    def in_flight_between(self, start: float, end: float) -> bool:
        """Whether the request was waiting for its answer at some moment in [start, end]."""
        return self.sent <= end and self.at >= start

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
    # Orders the shop confirmed (id -> {product id: quantity}), and placements left unanswered.
    orders: dict = field(default_factory=dict)
    maybe_ordered: int = 0
    # Product pages answered: (slug, wall-clock time the request went out), in order.
    viewed: list = field(default_factory=list)
    browser: ShopClient = field(init=False)
    _sent: float = field(init=False, default=0.0)

    def __post_init__(self):
        self.browser = ShopClient(self.base_url, timeout=TIMEOUT)

    def request(self, method: str, path: str, **kwargs) -> tuple[requests.Response | None, str]:
        self._sent = time.monotonic()
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
            sent=self._sent,
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
        sent = time.time()
        outcome = self.page(PRODUCT.format(slug=slug) if slug else CATALOGUE)
        if slug and outcome.ok:
            self.viewed.append((slug, sent))
        return outcome

    def page(self, path: str) -> Outcome:
        """GET a page that must answer 200."""
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

    def place_order(self, product_id: int, quantity: int = 1) -> list[Outcome]:
        """Put one product in the cart and check out: the address, the review (its hidden
        idempotency key and cart fingerprint), the payment by card (or the test payment when
        Stripe is off), the order's page. An order counts as confirmed once its page shows
        it paid (placed, with the test payment); a step that got no answer, or an error, may
        or may not have placed it."""
        outcomes = [self.add_to_cart(product_id, quantity)]
        if not outcomes[-1].ok:
            return outcomes
        response, note = self.request("POST", CHECKOUT, data={**ADDRESS, **self.browser.csrf()})
        ok = response is not None and response.status_code == 302
        outcomes.append(self._outcome("POST", CHECKOUT, response, note, ok))
        if not ok:
            return outcomes
        response, note = self.request("GET", REVIEW)
        form = (
            dict(re.findall(r'name="(idempotency_key|fingerprint)" value="([^"]*)"', response.text))
            if response is not None and response.status_code == 200
            else {}
        )
        outcomes.append(self._outcome("GET", REVIEW, response, note, ok=len(form) == 2))
        if len(form) != 2:
            return outcomes
        data = {k: html.unescape(v) for k, v in form.items()} | {"test_payment": "on"}
        response, note = self.request("POST", REVIEW, data={**data, **self.browser.csrf()})
        location = response.headers.get("Location", "") if response is not None else ""
        placed = ORDER_PAGE.match(location) or PAY_PAGE.match(location)
        outcomes.append(self._outcome("POST", REVIEW, response, note, ok=bool(placed)))
        if not placed:
            if response is None or response.status_code >= 500:
                self.maybe_ordered += 1
            return outcomes
        if PAY_PAGE.match(location):
            pay = {"payment_method": TEST_CARD, **self.browser.csrf()}
            response, note = self.request("POST", location, data=pay)
            location = response.headers.get("Location", "") if response is not None else ""
            paid = bool(ORDER_PAGE.match(location))
            outcomes.append(self._outcome("POST", "/orders/<id>/pay/", response, note, ok=paid))
            if not paid:
                self.maybe_ordered += 1
                return outcomes
        response, note = self.request("GET", location)
        order_id = int(placed.group(1))
        confirmed = (
            response is not None
            and response.status_code == 200
            and re.search(r'id="order-status">(Paid|Placed)<', response.text) is not None
        )
        if confirmed:
            self.orders[order_id] = {product_id: quantity}
        else:
            self.maybe_ordered += 1
        outcomes.append(self._outcome("GET", "/orders/<id>/", response, note, ok=confirmed))
        return outcomes


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


def views_lost(stack, shoppers: list[Shopper]) -> list[float]:
    """When each product view the shop answered but no longer remembers went out: a view is
    remembered if the shopper's recently viewed (PostgreSQL's rows and what Redis holds, as
    their data export shows it) has the product viewed at that time or later."""
    code = textwrap.dedent(
        f"""
        import json
        from accounts.models import User
        from catalog.models import Product
        from catalog.selectors import recently_viewed_export
        slugs = dict(Product.objects.values_list("name", "slug"))
        print(json.dumps({{
            user.email: {{
                slugs[view["product"]]: view["viewed_at"].timestamp()
                for view in recently_viewed_export(user_id=user.pk)
            }}
            for user in User.objects.filter(email__in={[s.email for s in shoppers]!r})
        }}))
        """
    )
    remembered = stack_json(stack, code)
    return [
        sent
        for shopper in shoppers
        for slug, sent in shopper.viewed
        if remembered[shopper.email].get(slug, 0) < sent
    ]


def stack_orders(stack, ids: list[int]) -> dict[int, dict[int, int]]:
    """Orders as PostgreSQL holds them: {order id: {product id: quantity}}."""
    code = textwrap.dedent(
        f"""
        import json
        from cart.models import OrderLine
        orders = {{}}
        for order, product, quantity in OrderLine.objects.filter(
            order_id__in={ids!r}
        ).values_list("order_id", "product_id", "quantity"):
            orders.setdefault(order, {{}})[product] = quantity
        print(json.dumps(orders))
        """
    )
    orders = stack_json(stack, code)
    return {int(k): {int(p): q for p, q in lines.items()} for k, lines in orders.items()}


def stock_and_ordered(stack, product_ids: list[int]) -> dict[int, int]:
    """Per product, its stock plus every unit ordered of it: constant unless stock is lost
    or taken twice (no order is cancelled and no stock received during the tests)."""
    code = textwrap.dedent(
        f"""
        import json
        from django.db.models import Sum
        from cart.models import OrderLine
        from catalog.models import Product
        ordered = dict(
            OrderLine.objects.filter(product_id__in={product_ids!r})
            .values_list("product_id").annotate(n=Sum("quantity"))
        )
        print(json.dumps({{
            p.pk: p.stock + (ordered.get(p.pk) or 0)
            for p in Product.objects.filter(pk__in={product_ids!r})
        }}))
        """
    )
    return {int(k): v for k, v in stack_json(stack, code).items()}
