from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver

from cart.models import SESSION_KEY
from cart.services import cart_merge_at_login, orders_attach_guest


@receiver(user_logged_in)
def attach_guest_orders(sender, user, **kwargs):
    orders_attach_guest(user=user)


@receiver(user_logged_in)
def merge_carts(sender, request, user, **kwargs):
    if request is not None:
        request.session[SESSION_KEY] = cart_merge_at_login(
            anonymous_cart_id=request.session.get(SESSION_KEY), user=user
        )
        if hasattr(request, "cart"):
            request.cart.id = request.session[SESSION_KEY]
