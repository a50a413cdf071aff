import uuid

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts import selectors as account_selectors
from accounts import services as account_services
from accounts.forms import AddressForm, GuestCheckoutForm, SavedAddressForm
from accounts.models import ADDRESS_FIELDS
from cart import selectors, services
from cart.forms import AddToCartForm, PlaceOrderForm, QuantityForm
from cart.models import CartLine, Order, guest_order_path, order_pay_path
from catalog import pages as catalog_pages

# What checkout's first step chose, for the second: {"address": fields, "email": guest's}.
CHECKOUT_KEY = "checkout"
DRAFT_FORM = "checkout_address"  # the name its drafts are kept under (accounts.forms)
# The quantity inputs' bounds come from the form that validates them.
QUANTITY_FIELD = QuantityForm.base_fields["quantity"]


def refused(request, message: str, status: int):
    return render(request, "cart/refused.html", {"message": message}, status=status)


@require_GET
def cart_detail(request):
    lines = selectors.cart_lines(cart_id=request.cart.id)
    return catalog_pages.render(
        request,
        "cart/cart_detail.html",
        {
            "lines": lines,
            "subtotal": sum(line.total for line in lines),
            "can_check_out": not selectors.checkout_problem(lines),
            "cart_count": sum(line.quantity for line in lines),  # the header needs no query
            "quantity_field": QUANTITY_FIELD,
        },
    )


@require_POST
def cart_add(request):
    form = AddToCartForm(request.POST)
    if not form.is_valid():
        return refused(request, " ".join(form.errors.get("quantity", ["Invalid request."])), 400)
    line = {"product_id": form.cleaned_data["product"], "quantity": form.cleaned_data["quantity"]}
    try:
        try:
            services.cart_add_line(cart_id=request.cart.open(), **line)
        except services.CartMissing:
            services.cart_add_line(cart_id=request.cart.reopen(), **line)
    except services.CartError as error:
        return refused(request, str(error), 409)
    messages.success(request, "Added to your cart.")
    next_url = form.cleaned_data["next"]
    if url_has_allowed_host_and_scheme(next_url, {request.get_host()}, request.is_secure()):
        return redirect(next_url)
    return redirect("cart:detail")


@require_POST
def cart_line_update(request, pk):
    form = QuantityForm(request.POST)
    if not form.is_valid():
        return refused(request, " ".join(form.errors["quantity"]), 400)
    try:
        services.cart_set_quantity(
            cart_id=request.cart.id, line_id=pk, quantity=form.cleaned_data["quantity"]
        )
    except CartLine.DoesNotExist:
        raise Http404("No such line in your cart.") from None
    except services.CartError as error:
        return refused(request, str(error), 409)
    return redirect("cart:detail")


@require_POST
def cart_line_remove(request, pk):
    try:
        services.cart_remove_line(cart_id=request.cart.id, line_id=pk)
    except CartLine.DoesNotExist:
        raise Http404("No such line in your cart.") from None
    messages.success(request, "Removed from your cart.")
    return redirect("cart:detail")


def _checkout_blocked(request, lines) -> bool:
    """Sends the shopper back to the cart, saying why, when the lines cannot be ordered."""
    problem = selectors.checkout_problem(lines)
    if problem:
        messages.error(request, problem)
    return bool(problem)


@require_http_methods(["GET", "POST"])
def checkout_address(request):
    """Step 1: where to ship. A signed-in shopper picks a saved address or types one (kept
    as a draft while typing); a guest gives an email and an address."""
    if _checkout_blocked(request, selectors.cart_lines(cart_id=request.cart.id)):
        return redirect("cart:detail")
    if not request.user.is_authenticated:
        return _guest_address(request)
    user = request.user
    saved = SavedAddressForm(request.POST or None, user=user)
    if request.method == "POST":
        form = AddressForm(request.POST)
        if "address" in request.POST and saved.is_valid():
            fields = saved.cleaned_data["address"].fields
        elif "address" not in request.POST and form.is_valid():
            fields = form.cleaned_data
        else:
            fields = None
        if fields is not None:
            account_services.address_remember(user=user, fields=fields)
            account_services.draft_discard(user=user, form=DRAFT_FORM)  # it did its job
            request.session[CHECKOUT_KEY] = {"address": fields}
            return redirect("cart:checkout_review")
    # Only a page shown needs the draft, and the address to start from (not the POST that
    # moves on to the review).
    draft = account_selectors.draft_get(user=user, form=DRAFT_FORM)
    if request.method != "POST":
        initial = draft.data if draft else account_selectors.address_suggestion(user=user)
        form = AddressForm(initial=initial)
    return render(
        request,
        "cart/checkout_address.html",
        {
            "form": form,
            "saved": saved,
            "addresses": saved.fields["address"].queryset,
            "draft": draft,
            "draft_form": DRAFT_FORM,
        },
    )


def _guest_address(request):
    chosen = request.session.get(CHECKOUT_KEY) or {}
    initial = {**chosen.get("address", {}), "email": chosen.get("email", "")}
    form = GuestCheckoutForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        address = {name: form.cleaned_data[name] for name in ADDRESS_FIELDS}
        request.session[CHECKOUT_KEY] = {"address": address, "email": form.cleaned_data["email"]}
        return redirect("cart:checkout_review")
    return render(request, "cart/checkout_guest.html", {"form": form})


@require_http_methods(["GET", "POST"])
def checkout_review(request):
    """Step 2: review and place the order, as the account or as the guest of step 1."""
    chosen = request.session.get(CHECKOUT_KEY) or {}
    user = request.user if request.user.is_authenticated else None
    email = user.email if user else chosen.get("email")
    address = chosen.get("address") if email else None
    if request.method == "POST":
        form = PlaceOrderForm(request.POST, pay_by_card=settings.STRIPE_ENABLED)
        if form.is_valid():
            try:
                order = services.order_place(
                    user=user,
                    email=email,
                    cart_id=request.cart.id,
                    address=address,
                    idempotency_key=form.cleaned_data["idempotency_key"],
                    fingerprint=form.cleaned_data["fingerprint"],
                    site=request.build_absolute_uri("/").rstrip("/"),
                    pay_by_card=settings.STRIPE_ENABLED,
                )
            except services.CartError as error:
                messages.error(request, str(error))
                return redirect("cart:detail")
            # A guest's email stays: a repeated submission must find the order it placed.
            request.session[CHECKOUT_KEY] = {"email": email} if user is None else {}
            if order.status == Order.Status.AWAITING_PAYMENT:
                return redirect(order_pay_path(order))
            messages.success(request, f"Thank you! Your order {order.number} is placed.")
            return redirect(order if user else guest_order_path(order.pk))
    # The lines only for a page shown: order_place reads them itself, in its transaction.
    lines = selectors.cart_lines(cart_id=request.cart.id)
    if request.method != "POST":  # (a bad form is shown again as it was)
        if _checkout_blocked(request, lines):
            return redirect("cart:detail")
        form = PlaceOrderForm(
            initial={
                "idempotency_key": uuid.uuid4(),
                "fingerprint": services.cart_fingerprint(lines),
            },
            pay_by_card=settings.STRIPE_ENABLED,
        )
    if address is None:
        return redirect("cart:checkout")
    return catalog_pages.render(
        request,
        "cart/checkout_review.html",
        {
            "form": form,
            "lines": lines,
            "address": address,
            "email": email,
            "subtotal": sum(line.total for line in lines),
        },
        status=400 if form.errors else 200,
    )


@login_required
@require_GET
def order_list(request):
    return render(
        request, "cart/order_list.html", {"orders": selectors.order_list(user=request.user)}
    )


@login_required
@require_GET
def order_detail(request, pk):
    order = selectors.order_get(user=request.user, pk=pk)
    if order is None:
        raise Http404("No such order.")
    return render(
        request, "cart/order_detail.html", {"order": order, "pay_path": order_pay_path(order)}
    )


@require_GET
def guest_order(request, token):
    """A guest's order, by the signed link its confirmation email carries."""
    order = selectors.order_from_link(token=token)
    if order is None:
        return render(request, "cart/order_link_invalid.html", status=404)
    return render(
        request,
        "cart/order_detail.html",
        {"order": order, "by_link": True, "pay_path": order_pay_path(order)},
    )
