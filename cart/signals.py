from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver

from cart.services import cart_merge_at_login


@receiver(user_logged_in)
def merge_carts(sender, request, user, **kwargs):
    if request is not None:
        cart_merge_at_login(session=request.session, user=user)
