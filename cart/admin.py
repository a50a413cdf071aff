import stripe
from django.contrib import admin, messages

from cart import services
from cart.models import Order, OrderLine
from payments import services as payments


class OrderLineInline(admin.TabularInline):
    model = OrderLine
    fields = ["product", "product_name", "unit_price", "quantity"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


def _status_action(status: str, description: str):
    """An admin action that moves the selected orders to `status` through the service."""

    @admin.action(description=description)
    def action(modeladmin, request, queryset):
        changed = [
            order.number
            for order in queryset.order_by("pk")
            if services.order_change_status(order_id=order.pk, status=status)
        ]
        skipped = queryset.count() - len(changed)
        if changed:
            modeladmin.message_user(request, f"{status.capitalize()}: {', '.join(changed)}.")
        if skipped:
            modeladmin.message_user(
                request,
                f"{skipped} order(s) left as they were: their status does not allow it.",
                messages.WARNING,
            )

    action.__name__ = f"mark_{status}"
    return action


@admin.action(description="Refund through Stripe (returns the stock)")
def refund(modeladmin, request, queryset):
    """Card payments go back through Stripe (payments.services.order_refund); the orders
    not paid by card, or not paid, are left as they were."""
    refunded, skipped = [], 0
    for order in queryset.order_by("pk"):
        try:
            if payments.order_refund(order_id=order.pk):
                refunded.append(order.number)
            else:
                skipped += 1
        except stripe.StripeError as error:
            modeladmin.message_user(
                request,
                f"{order.number}: Stripe refused or did not answer ({error}).",
                messages.ERROR,
            )
    if refunded:
        modeladmin.message_user(request, f"Refunded: {', '.join(refunded)}.")
    if skipped:
        modeladmin.message_user(
            request, f"{skipped} order(s) left as they were: not paid by card.", messages.WARNING
        )


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = ["number", "email", "status", "total", "created_at"]
    list_filter = ["status", "created_at"]
    date_hierarchy = "created_at"
    search_fields = ["email", "full_name", "pk"]
    inlines = [OrderLineInline]
    actions = [
        _status_action(Order.Status.PAID, "Mark as paid"),
        _status_action(Order.Status.SHIPPED, "Mark as shipped"),
        _status_action(Order.Status.CANCELLED, "Cancel (returns the stock)"),
        refund,
    ]
    # Status only moves through the actions, which keep the rules (and return stock once).
    readonly_fields = [
        "user",
        "status",
        "email",
        "total",
        "payment_reference",
        "created_at",
        "status_changed_at",
    ]
    fields = [
        *readonly_fields,
        "full_name",
        "line1",
        "line2",
        "city",
        "postcode",
        "country",
    ]

    def has_add_permission(self, request):
        return False
