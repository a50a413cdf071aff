from django.conf import settings
from django.core import signing
from django.db import models
from django.urls import reverse
from django.utils.functional import cached_property

from accounts.models import PostalAddress
from catalog.models import Product, pk_path

MAX_PER_LINE = 50  # no shopper needs more of one product in one order
SESSION_KEY = "cart_id"  # the session notes its cart's id, so pages find it without a query
COUNT_TTL = 300  # seconds; bounds how long a racing reader's stale header count can survive


INTENT_PREFIX = "pi_"  # how Stripe's PaymentIntent ids start, in Order.payment_reference

GUEST_ORDER_LINK_DAYS = 30  # how long the link to a guest's order page works
GUEST_ORDER_SALT = "cart.guest-order"


def guest_order_token(order_id: int) -> str:
    """The signed, expiring token of a guest's order (cart.selectors.order_from_link checks
    it): whoever has the link from the confirmation email sees that order only."""
    return signing.dumps(order_id, salt=GUEST_ORDER_SALT)


def guest_order_path(order_id: int) -> str:
    """The address of a guest's order page."""
    return reverse("cart:guest_order", kwargs={"token": guest_order_token(order_id)})


def order_pay_path(order: "Order") -> str:
    """Where the buyer pays an order by card: the account's page, or, for a guest, the page
    reached with the same signed token as their order page."""
    if order.user_id is None:
        return reverse("payments:guest_pay", kwargs={"token": guest_order_token(order.pk)})
    return reverse("payments:pay", kwargs={"pk": order.pk})


def count_cache_key(cart_id: int) -> str:
    """Where the header's item count of a cart is cached (cart.selectors.cart_count)."""
    return f"cart:{cart_id}:count"


class Cart(models.Model):
    """A shopper's cart, in PostgreSQL: the session only holds its id.

    Anonymous carts have no user and belong to one session; a logged-in shopper has exactly
    one cart, the same in every browser. Both keys are unique, so however many requests
    open a visitor's first cart at once, it is one cart (cart.services.cart_open).
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE
    )
    # NULL for an account's cart: unique allows any number of NULLs, not of empty strings.
    session_key = models.CharField(  # noqa: DJ001
        max_length=40, unique=True, null=True, editable=False
    )
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return f"Cart {self.pk} of {self.user or 'an anonymous visitor'}"


class CartLine(models.Model):
    cart = models.ForeignKey(Cart, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="+")
    quantity = models.PositiveIntegerField()
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["pk"]
        constraints = [
            # Two tabs adding the same product at once still make one line.
            models.UniqueConstraint(fields=["cart", "product"], name="cart_line_once_per_product"),
            models.CheckConstraint(condition=models.Q(quantity__gte=1), name="cart_line_quantity"),
        ]

    def __str__(self):
        return f"{self.quantity} x {self.product}"

    @property
    def total(self):
        return self.product.price * self.quantity

    @property
    def update_url(self) -> str:
        return pk_path("cart:line_update", self.pk)

    @property
    def remove_url(self) -> str:
        return pk_path("cart:line_remove", self.pk)

    @cached_property
    def problem(self) -> str:
        """Why this line cannot be checked out as it is ('' when it can)."""
        if not self.product.is_active:
            return "No longer sold: please remove it."
        if self.product.stock == 0:
            return "Sold out: please remove it."
        if self.quantity > self.product.stock:
            return f"Only {self.product.stock} left: please lower the quantity."
        return ""


class Order(PostalAddress):
    class Status(models.TextChoices):
        PLACED = "placed", "Placed"  # paid with the test payment (Stripe off)
        AWAITING_PAYMENT = "awaiting_payment", "Awaiting payment"  # Stripe on: the saga's start
        PAID = "paid", "Paid"
        SHIPPED = "shipped", "Shipped"
        CANCELLED = "cancelled", "Cancelled"
        REFUNDED = "refunded", "Refunded"

    # None for a guest's order: `email` is then the only way to reach the buyer, and an
    # account that proves it owns that address takes the order over (orders_attach_guest).
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="orders",
    )
    status = models.CharField(max_length=20, choices=Status, default=Status.PLACED)
    # One checkout form, one order: a double submit or a retried POST finds this order.
    idempotency_key = models.UUIDField(unique=True, editable=False)
    email = models.EmailField()
    total = models.DecimalField(max_digits=12, decimal_places=2)
    # The test payment's reference, or the Stripe PaymentIntent's id ('' until it is recorded).
    payment_reference = models.CharField(max_length=255, blank=True)
    # The shop's address as the buyer used it: links in emails sent later by a worker (the
    # confirmation of a card payment) start with it.
    site = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    status_changed_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["user", "-created_at"], name="order_history"),
            # Guest orders waiting for an account with their email.
            models.Index(
                fields=["email"], condition=models.Q(user__isnull=True), name="order_guest_email"
            ),
            # Orders the payments sweep looks at: those still waiting for their payment.
            models.Index(
                fields=["created_at"],
                condition=models.Q(status="awaiting_payment"),
                name="order_awaiting_payment",
            ),
        ]

    def __str__(self):
        return f"Order {self.number}"

    def get_absolute_url(self):
        return reverse("cart:order", kwargs={"pk": self.pk})

    @property
    def number(self) -> str:
        return f"CS-{self.pk:06d}"


class OrderLine(models.Model):
    """What was bought, at the price of that moment."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+")
    product_name = models.CharField(max_length=200)
    unit_price = models.DecimalField(max_digits=10, decimal_places=2)
    quantity = models.PositiveIntegerField()

    class Meta:
        ordering = ["pk"]

    def __str__(self):
        return f"{self.quantity} x {self.product_name}"

    @property
    def total(self):
        return self.unit_price * self.quantity
