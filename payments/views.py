import logging

import stripe
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from cart import selectors as cart_selectors
from cart.models import Order, guest_order_path
from payments import services
from payments.forms import PayForm

logger = logging.getLogger(__name__)

# Stripe's events are a few kilobytes; anything much larger is not from Stripe.
WEBHOOK_MAX_BYTES = 256 * 1024


@login_required
@require_http_methods(["GET", "POST"])
def pay(request, pk):
    order = cart_selectors.order_get(user=request.user, pk=pk)
    if order is None:
        raise Http404("No such order.")
    return _pay(request, order, order.get_absolute_url())


@require_http_methods(["GET", "POST"])
def guest_pay(request, token):
    """A guest pays on the page their order's signed link leads to, with the same token."""
    order = cart_selectors.order_from_link(token=token)
    if order is None:
        return render(request, "cart/order_link_invalid.html", status=404)
    return _pay(request, order, guest_order_path(order.pk))


def _pay(request, order: Order, order_url: str):
    """The payment page: the card element of Stripe.js, whose token the shop confirms the
    order's PaymentIntent with."""
    if not settings.STRIPE_ENABLED or order.status != Order.Status.AWAITING_PAYMENT:
        return redirect(order_url)
    form = PayForm(request.POST or None)
    authenticate = None
    try:
        if request.method == "POST" and form.is_valid():
            status = services.payment_confirm(
                order=order, payment_method=form.cleaned_data["payment_method"]
            )
            return _paid_or_processing(request, order, status, order_url)
        if request.method == "GET":  # perhaps back from 3-D Secure: Stripe knows
            status = services.payment_settle(order=order)
            if status != Order.Status.AWAITING_PAYMENT:
                return _paid_or_processing(request, order, status, order_url)
        services.payment_start(order=order)
    except services.AuthenticationRequired as required:
        authenticate = required.client_secret
    except services.PaymentDeclined as declined:
        messages.error(
            request, f"{declined} Order {order.number} is cancelled; nothing was charged."
        )
        return redirect(order_url)
    except services.PaymentUnavailable:
        return render(request, "payments/unavailable.html", {"order_url": order_url}, status=503)
    return render(
        request,
        "payments/pay.html",
        {
            "order": order,
            "form": form,
            "stripe_js": settings.STRIPE_JS_URL,
            "stripe_publishable_key": settings.STRIPE_PUBLISHABLE_KEY,
            "order_url": order_url,
            "authenticate": authenticate,
        },
        status=400 if form.errors else 200,
    )


def _paid_or_processing(request, order: Order, status: str, order_url: str):
    if status == Order.Status.PAID:
        messages.success(request, f"Thank you! Your order {order.number} is paid.")
    elif status == Order.Status.CANCELLED:
        messages.error(request, f"Order {order.number} is cancelled; nothing was charged.")
    else:
        messages.info(request, "Your payment is being processed.")
    return redirect(order_url)


@csrf_exempt  # Stripe signs its requests instead
@require_POST
def webhook(request):
    """Record a Stripe event and answer at once; a worker applies it."""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = WEBHOOK_MAX_BYTES + 1
    if length > WEBHOOK_MAX_BYTES:
        return HttpResponse("Too large.", status=413, content_type="text/plain")
    try:
        services.event_record(
            payload=request.body, signature=request.headers.get("Stripe-Signature", "")
        )
    except (ValueError, stripe.SignatureVerificationError) as error:
        logger.warning("webhook refused: %s", error)
        return HttpResponseBadRequest("Bad signature or payload.", content_type="text/plain")
    return HttpResponse(status=200)
