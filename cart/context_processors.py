from django.utils.functional import SimpleLazyObject

from cart.selectors import cart_count


def cart(request):
    """The cart count in every page's header, looked up only if the page shows it.

    Error pages raised before the visitor is known (a bad Host header) show none.
    """
    if not hasattr(request, "cart"):
        return {"cart_count": 0}
    return {"cart_count": SimpleLazyObject(lambda: cart_count(cart_id=request.cart.id))}
