"""Reads for carts and orders."""

from django.core.cache import cache
from django.db.models import Sum

from cart.models import Cart, CartLine, Order
from cart.services import COUNT_TTL, SESSION_KEY, count_cache_key


def _cart_id(request) -> int | None:
    cart_id = request.session.get(SESSION_KEY)
    if cart_id is None and request.user.is_authenticated:
        # Sessions get the account's cart id at login; this covers older sessions.
        cart_id = Cart.objects.filter(user=request.user).values_list("pk", flat=True).first()
    return cart_id


def cart_lines(request) -> list[CartLine]:
    """The visitor's cart lines with their products, in one query."""
    cart_id = _cart_id(request)
    if cart_id is None:
        return []
    return list(CartLine.objects.filter(cart_id=cart_id).select_related("product"))


def cart_count(request) -> int:
    """Items in the visitor's cart for the page header, from Redis when possible."""
    cart_id = _cart_id(request)
    if cart_id is None:
        return 0

    def count():
        return CartLine.objects.filter(cart_id=cart_id).aggregate(n=Sum("quantity"))["n"] or 0

    return cache.get_or_set(count_cache_key(cart_id), count, COUNT_TTL)


def order_list(*, user) -> list[Order]:
    return list(Order.objects.filter(user=user))


def order_get(*, user, pk: int) -> Order | None:
    """The user's own order with its lines; anybody else's is None (the view says 404)."""
    return Order.objects.filter(user=user, pk=pk).prefetch_related("lines").first()
