"""Writes for carts and orders: every rule about quantities and stock lives here.

Nothing here reads a quantity, changes it in Python and writes it back (the read-modify-
write that loses concurrent updates). Quantities change inside single SQL statements:
an upsert for cart lines, conditional UPDATEs for stock. The database serialises them.
"""

import uuid
from datetime import timedelta

from django.core.cache import cache
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone

from cart.models import (
    INTENT_PREFIX,
    MAX_PER_LINE,
    Cart,
    CartLine,
    Order,
    OrderLine,
    count_cache_key,
    guest_order_path,
)
from cart.selectors import checkout_problem
from catalog.models import Product
from catalog.services import stock_adjust, stock_take
from notifications.services import email_enqueue


class CartError(Exception):
    """A change the shopper asked for that the shop refuses; the message says why."""


class CartMissing(CartError):
    """The cart named is gone (purged while its session lived on): open a new one."""

    def __init__(self):
        super().__init__("Your cart has expired.")


class OutOfStock(CartError):
    def __init__(self, product: Product):
        super().__init__(f"Sorry, {product.name} is no longer in stock in that quantity.")
        self.product = product


def _forget_count(cart_id: int) -> None:
    cache.delete(count_cache_key(cart_id))


# The no-op update makes the statement return the existing row's id too; a concurrent
# insert of the same key waits for the first one and then finds it.
_OPEN_SQL = """
INSERT INTO cart_cart (session_key, created_at) VALUES (%s, %s)
ON CONFLICT (session_key) DO UPDATE SET session_key = excluded.session_key
RETURNING id
"""


def cart_open(*, user, session_key: str | None) -> int:
    """The id of the visitor's cart, made if need be: the account's one cart, or the
    session's. Both are unique keys, so requests that open a first cart at the same
    moment (a double click, two tabs, a retrying client) all get the same one."""
    if user.is_authenticated:
        return Cart.objects.get_or_create(user=user)[0].pk
    with connection.cursor() as cursor:
        cursor.execute(_OPEN_SQL, [session_key, timezone.now()])
        return cursor.fetchone()[0]


# One statement, atomic under any concurrency, in PostgreSQL and SQLite alike: only a
# product on sale, and only up to its limit (_line_limit, in SQL: the stock, at most
# MAX_PER_LINE), whether the line is new (the SELECT's WHERE) or grows (the DO UPDATE's);
# else no row comes back. The clamping form, used when carts merge at login, caps the sum
# at the limit instead.
_ADD_SQL = """
INSERT INTO cart_cartline (cart_id, product_id, quantity, updated_at)
SELECT %(cart)s, id, %(quantity)s, %(now)s FROM catalog_product
WHERE id = %(product)s AND is_active
  AND %(quantity)s <= CASE WHEN stock < %(most)s THEN stock ELSE %(most)s END
ON CONFLICT (cart_id, product_id) DO UPDATE
SET quantity = cart_cartline.quantity + excluded.quantity, updated_at = excluded.updated_at
WHERE cart_cartline.quantity + excluded.quantity <= (
  SELECT CASE WHEN stock < %(most)s THEN stock ELSE %(most)s END
  FROM catalog_product WHERE id = excluded.product_id
)
RETURNING quantity
"""
_MERGE_SQL = """
INSERT INTO cart_cartline (cart_id, product_id, quantity, updated_at) VALUES (%s, %s, %s, %s)
ON CONFLICT (cart_id, product_id) DO UPDATE
SET quantity = CASE WHEN cart_cartline.quantity + excluded.quantity > %s THEN %s
                    ELSE cart_cartline.quantity + excluded.quantity END,
    updated_at = excluded.updated_at
RETURNING quantity
"""


def _line_limit(product: Product) -> int:
    return min(product.stock, MAX_PER_LINE)


def cart_add_line(*, cart_id: int, product_id: int, quantity: int) -> int:
    """Add `quantity` of a product to a cart; returns the line's new quantity.

    A quantity never gets lost: concurrent adds each increment the line in the database,
    and an add that would pass the product's stock or the per-line maximum is refused
    whole rather than clamped, so every successful add is in the final quantity. One
    statement when it succeeds; a refusal reads the product to say why.
    """
    params = {
        "cart": cart_id,
        "product": product_id,
        "quantity": quantity,
        "now": timezone.now(),
        "most": MAX_PER_LINE,
    }
    try:
        with connection.cursor() as cursor:
            cursor.execute(_ADD_SQL, params)
            row = cursor.fetchone()
    except IntegrityError:  # the cart was purged while its session lived on
        raise CartMissing from None
    if row is None:
        raise CartError(_refusal(product_id))
    _forget_count(cart_id)
    return row[0]


def _refusal(product_id: int) -> str:
    product = Product.objects.filter(pk=product_id, is_active=True).first()
    if product is None:
        return "That product is not for sale."
    if product.stock == 0:
        return f"Sorry, {product.name} is sold out."
    return f"You can have at most {_line_limit(product)} of {product.name} in your cart."


def cart_set_quantity(*, cart_id: int | None, line_id: int, quantity: int) -> None:
    """Set a line's quantity (1 to the stock and the per-line maximum)."""
    line = CartLine.objects.select_related("product").filter(pk=line_id, cart_id=cart_id).first()
    if line is None:
        raise CartLine.DoesNotExist
    limit = _line_limit(line.product)
    if quantity > limit:
        raise CartError(f"Only {limit} of {line.product.name} can be ordered.")
    CartLine.objects.filter(pk=line_id, cart_id=cart_id).update(
        quantity=quantity, updated_at=timezone.now()
    )
    _forget_count(cart_id)


def cart_remove_line(*, cart_id: int | None, line_id: int) -> None:
    deleted, _ = CartLine.objects.filter(pk=line_id, cart_id=cart_id).delete()
    if not deleted:
        raise CartLine.DoesNotExist
    _forget_count(cart_id)


def cart_merge_at_login(*, anonymous_cart_id: int | None, user) -> int:
    """The anonymous cart joins the account's: quantities summed, capped at the stock and
    the per-line maximum, no line dropped; then the anonymous cart is deleted. Returns the
    account's cart id."""
    user_cart_id = cart_open(user=user, session_key=None)
    if anonymous_cart_id and anonymous_cart_id != user_cart_id:
        now = timezone.now()
        with transaction.atomic(), connection.cursor() as cursor:
            lines = CartLine.objects.filter(
                cart_id=anonymous_cart_id, cart__user__isnull=True
            ).select_related("product")
            for line in lines:
                limit = max(1, _line_limit(line.product))  # a sold-out line stays, flagged
                quantity = min(line.quantity, limit)
                cursor.execute(
                    _MERGE_SQL, [user_cart_id, line.product_id, quantity, now, limit, limit]
                )
            Cart.objects.filter(pk=anonymous_cart_id, user__isnull=True).delete()
        _forget_count(anonymous_cart_id)
        _forget_count(user_cart_id)
    return user_cart_id


def cart_fingerprint(lines: list[CartLine]) -> str:
    """What the shopper reviewed: products, quantities and prices. Placing an order checks
    it, so an order never differs from the review (another tab, a price change)."""
    return "|".join(f"{line.product_id}:{line.quantity}:{line.product.price}" for line in lines)


def order_place(
    *,
    user,
    email: str,
    cart_id: int | None,
    address: dict[str, str] | None,
    idempotency_key: uuid.UUID,
    fingerprint: str,
    site: str,
    pay_by_card: bool = False,
) -> Order:
    """Turn the visitor's cart into an order, exactly once per checkout form.

    `user` is the account, or None for a guest, whose cart must then be the session's
    anonymous one; `email` is where the confirmation goes (the account's address, or the
    one the guest gave) and `site` the shop's address for the links in it.

    With the test payment the order is placed and confirmed at once. With `pay_by_card`
    (Stripe on) it is the payment saga's first step: the order waits for its payment with
    its stock taken, and its confirmation is sent when the payment succeeds
    (payments/services.py).

    Stock is taken with conditional UPDATEs (`stock >= quantity`) in product-id order, so
    concurrent checkouts never oversell, never drive stock below zero and never deadlock;
    if any product falls short the whole transaction rolls back. A repeated submission
    with the same idempotency key returns the order the first one created.
    """
    buyer = {"user": user} if user else {"user": None, "email": email}
    try:
        with transaction.atomic():
            return _order_place(
                buyer, email, cart_id, address, idempotency_key, fingerprint, site, pay_by_card
            )
    except (IntegrityError, CartError):
        existing = Order.objects.filter(idempotency_key=idempotency_key, **buyer).first()
        if existing is None:
            raise
        return existing


def _order_place(
    buyer, email, cart_id, address, idempotency_key, fingerprint, site, pay_by_card
) -> Order:
    # No look for an order with this key first: a repeated submission finds the cart
    # emptied (or, refilled alike, its order's key taken), and order_place returns the order.
    if address is None:
        raise CartError("Choose where to ship your order first.")
    lines = list(
        CartLine.objects.filter(cart_id=cart_id, cart__user=buyer["user"])
        .select_related("product")
        .order_by("product_id")
    )
    if problem := checkout_problem(lines):
        raise CartError(problem)
    if cart_fingerprint(sorted(lines, key=lambda line: line.pk)) != fingerprint:
        raise CartError("Your cart changed since you reviewed it: please check it again.")
    for line in lines:
        if not stock_take(product_id=line.product_id, quantity=line.quantity):
            raise OutOfStock(line.product)
    order = Order.objects.create(
        user=buyer["user"],
        idempotency_key=idempotency_key,
        email=email,
        total=sum(line.total for line in lines),
        status=Order.Status.AWAITING_PAYMENT if pay_by_card else Order.Status.PLACED,
        payment_reference="" if pay_by_card else f"TEST-{uuid.uuid4().hex[:12].upper()}",
        site=site,
        **address,
    )
    order_lines = OrderLine.objects.bulk_create(
        OrderLine(
            order=order,
            product=line.product,
            product_name=line.product.name,
            unit_price=line.product.price,
            quantity=line.quantity,
        )
        for line in lines
    )
    CartLine.objects.filter(cart_id=cart_id).delete()
    transaction.on_commit(lambda: _forget_count(cart_id))
    if not pay_by_card:
        order_confirmation_send(order=order, lines=order_lines)
    return order


def order_confirmation_send(*, order: Order, lines: list[OrderLine] | None = None) -> None:
    """Queued in the transaction that places (or, paying by card, pays) the order: no
    confirmed order without its email, nor the reverse; its key makes it one email however
    often it is queued. A guest has no account to see the order in: the email links to its
    signed page. `lines`: the order's, when the caller holds them."""
    guest_link = order.site + guest_order_path(order.pk) if order.user_id is None else ""
    lines = order.lines.all() if lines is None else lines
    context = {"order": order, "lines": lines, "guest_link": guest_link}
    email_enqueue(
        key=f"order_confirmation:{order.pk}",
        kind="order_confirmation",
        to=order.email,
        subject=render_to_string("cart/email/order_confirmation_subject.txt", context).strip(),
        body=render_to_string("cart/email/order_confirmation.txt", context),
    )


def orders_attach_guest(*, user) -> int:
    """Guest orders placed with the account's email become the account's, once the account
    has proven it owns that address (a confirmed sign-up or email change); returns how many.
    Before that, anybody could type someone's address at checkout."""
    if not user.email_verified:
        return 0
    return Order.objects.filter(user__isnull=True, email=user.email).update(user=user)


# Which statuses the admin may move an order to, and from which (placed → paid → shipped,
# or cancelled). The payment saga's transitions (payments/services.py) use order_transition
# with their own expected status.
ORDER_TRANSITIONS = {
    Order.Status.PAID: [Order.Status.PLACED],
    Order.Status.SHIPPED: [Order.Status.PAID],
    Order.Status.CANCELLED: [Order.Status.PLACED, Order.Status.PAID],
}
# The statuses that give the order's stock back: nothing will ship.
STOCK_RETURNING = {Order.Status.CANCELLED, Order.Status.REFUNDED}


def order_transition(
    *, order_id: int, to: str, expected: list[str], where: Q | None = None
) -> bool:
    """Move an order from one of the `expected` statuses (and matching `where`) to `to`;
    False, changing nothing, when it is in none of them.

    One conditional UPDATE: of two callers moving the same order at once (two admins, two
    workers taking the same webhook, the payments sweep and a webhook) only one succeeds,
    so an order that is cancelled or refunded returns its stock exactly once.
    """
    with transaction.atomic():
        changed = Order.objects.filter(where or Q(), pk=order_id, status__in=expected).update(
            status=to, status_changed_at=timezone.now()
        )
        if changed and to in STOCK_RETURNING:
            for line in OrderLine.objects.filter(order_id=order_id).order_by("product_id"):
                stock_adjust(product_id=line.product_id, change=line.quantity)
    return bool(changed)


def order_change_status(*, order_id: int, status: str) -> bool:
    """The admin moves an order along; False if its current status does not allow it.

    An order paid through Stripe is not cancelled here: its money goes back with a refund
    (payments.services.order_refund), which returns the stock as a cancel does.
    """
    stripe_paid = Q(status=Order.Status.PAID, payment_reference__startswith=INTENT_PREFIX)
    return order_transition(
        order_id=order_id,
        to=status,
        expected=ORDER_TRANSITIONS[status],
        where=~stripe_paid if status == Order.Status.CANCELLED else None,
    )


def carts_purge(*, days: int) -> int:
    """Delete carts nobody has touched for `days` days; returns how many."""
    cutoff = timezone.now() - timedelta(days=days)
    stale = Cart.objects.filter(created_at__lt=cutoff).exclude(lines__updated_at__gte=cutoff)
    _total, per_model = stale.delete()
    return per_model.get("cart.Cart", 0)
