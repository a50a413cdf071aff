"""Which cart is the visitor's, decided once per request: `request.cart`."""

from django.utils.functional import cached_property

from cart import selectors, services
from cart.models import SESSION_KEY


class VisitorCart:
    """The visitor's cart as this request sees it. `id` is looked up on first use (None
    until the visitor has a cart); `open()` makes the cart on the first add."""

    def __init__(self, request):
        self._session = request.session
        self._user = request.user

    @cached_property
    def id(self) -> int | None:
        return selectors.visitor_cart_id(
            session_cart_id=self._session.get(SESSION_KEY), user=self._user
        )

    def open(self) -> int:
        """The cart's id, made first if the visitor has none (an anonymous cart belongs to
        the session, so the session gets its key now if it had none)."""
        if self.id is None:
            if self._session.session_key is None:
                self._session.save()
            self.id = services.cart_open(user=self._user, session_key=self._session.session_key)
        if self._session.get(SESSION_KEY) != self.id:  # assigning marks the session changed
            self._session[SESSION_KEY] = self.id
        return self.id

    def reopen(self) -> int:
        """A new cart, after the one the session named turned out to be gone."""
        self._session.pop(SESSION_KEY, None)
        self.id = None
        return self.open()


class VisitorCartMiddleware:
    """Gives every request `request.cart` (after the session and user are known)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.cart = VisitorCart(request)
        return self.get_response(request)
