from django.contrib import messages
from django.contrib.auth import login, logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.shortcuts import redirect, render
from django.template.defaultfilters import pluralize
from django.urls import reverse_lazy
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts import selectors, services
from accounts.forms import (
    DRAFT_FORMS,
    AddressForm,
    CloseAccountForm,
    EmailChangeForm,
    LoginForm,
    PreferencesForm,
    SignUpForm,
    draft_form,
)
from webapp.clientip import client_ip


@require_http_methods(["GET", "POST"])
def sign_up(request):
    if request.user.is_authenticated:
        return redirect("catalog:home")
    form = SignUpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        services.user_sign_up(
            request=request,
            client=client_ip(request),
            email=form.cleaned_data["email"],
            password=form.cleaned_data["password1"],
            display_name=form.cleaned_data["display_name"],
        )
        return redirect("accounts:sign_up_done")
    return render(request, "accounts/sign_up.html", {"form": form})


def sign_up_done(request):
    return render(request, "accounts/sign_up_done.html")


@require_http_methods(["GET", "POST"])
def confirm_email(request, uidb64, token):
    """GET asks for a click, POST confirms: mail scanners that open links confirm nothing."""
    user = selectors.user_from_confirmation_link(uidb64=uidb64, token=token)
    if user is None:
        return render(request, "accounts/link_invalid.html", status=400)
    if request.method == "POST":
        services.user_confirm_email(user=user)
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        messages.success(request, "Your email is confirmed and you are logged in. Welcome!")
        return redirect("catalog:home")
    return render(request, "accounts/confirm_email.html", {"email": user.email})


class LoginView(auth_views.LoginView):
    form_class = LoginForm
    redirect_authenticated_user = True


@login_required
@require_http_methods(["GET", "POST"])
def preferences(request):
    current = {name: getattr(request.user, name) for name in PreferencesForm.base_fields}
    form = PreferencesForm(request.POST or None, initial=current)
    if request.method == "POST" and form.is_valid():
        services.user_update_preferences(user=request.user, **form.cleaned_data)
        messages.success(request, "Your preferences are saved.")
        return redirect("accounts:preferences")
    return render(request, "accounts/preferences.html", {"form": form})


class PasswordChangeView(auth_views.PasswordChangeView):
    success_url = reverse_lazy("accounts:password_change_done")

    def form_valid(self, form):
        response = super().form_valid(form)  # this browser stays in, under a new session key
        services.sessions_end(user=form.user, keep=self.request.session.session_key)
        return response


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    success_url = reverse_lazy("accounts:password_reset_complete")

    def form_valid(self, form):
        response = super().form_valid(form)
        services.sessions_end(user=form.user, keep=self.request.session.session_key)
        return response


def _site(request) -> str:
    return request.build_absolute_uri("/").rstrip("/")


@login_required
@require_GET
def account(request):
    return render(request, "accounts/account.html")


# --- Address book -------------------------------------------------------------------------


def _own_address(request, pk):
    address = selectors.address_get(user=request.user, pk=pk)
    if address is None:
        raise Http404("No such address in your address book.")
    return address


@login_required
@require_GET
def address_list(request):
    return render(
        request,
        "accounts/address_list.html",
        {"addresses": selectors.address_list(user=request.user)},
    )


@login_required
@require_http_methods(["GET", "POST"])
def address_add(request):
    form = AddressForm(request.POST or None, initial={"full_name": request.user.display_name})
    if request.method == "POST" and form.is_valid():
        services.address_remember(user=request.user, fields=form.cleaned_data)
        messages.success(request, "The address is in your address book.")
        return redirect("accounts:addresses")
    return render(request, "accounts/address_form.html", {"form": form, "adding": True})


@login_required
@require_http_methods(["GET", "POST"])
def address_edit(request, pk):
    address = _own_address(request, pk)
    form = AddressForm(request.POST or None, initial=address.fields)
    if request.method == "POST" and form.is_valid():
        services.address_update(address=address, fields=form.cleaned_data)
        messages.success(request, "The address is saved.")
        return redirect("accounts:addresses")
    return render(request, "accounts/address_form.html", {"form": form, "address": address})


@login_required
@require_POST
def address_delete(request, pk):
    if not services.address_delete(user=request.user, pk=pk):
        raise Http404("No such address in your address book.")
    messages.success(request, "The address is deleted.")
    return redirect("accounts:addresses")


@login_required
@require_POST
def address_default(request, pk):
    if not services.address_set_default(user=request.user, pk=pk):
        raise Http404("No such address in your address book.")
    messages.success(request, "Checkout will offer this address first.")
    return redirect("accounts:addresses")


# --- Signed-in devices --------------------------------------------------------------------


@login_required
@require_GET
def devices(request):
    return render(
        request,
        "accounts/devices.html",
        {
            "devices": selectors.device_list(
                user=request.user, current_session_key=request.session.session_key
            )
        },
    )


@login_required
@require_POST
def device_sign_out(request, ref):
    current = request.session.session_key
    if current and ref == selectors.session_ref(current):
        return render(
            request,
            "accounts/refused.html",
            {"message": "To sign out this browser, use Log out."},
            status=400,
        )
    if not services.session_end(user=request.user, ref=ref):
        raise Http404("No such session.")
    messages.success(request, "That device is signed out.")
    return redirect("accounts:devices")


@login_required
@require_POST
def devices_sign_out_others(request):
    ended = services.sessions_end(user=request.user, keep=request.session.session_key)
    messages.success(request, f"Signed out everywhere else ({ended} session{pluralize(ended)}).")
    return redirect("accounts:devices")


# --- Email change -------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def email_change(request):
    form = EmailChangeForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        services.user_email_change_request(
            user=request.user,
            new_email=form.cleaned_data["email"],
            site=_site(request),
            client=client_ip(request),
        )
        return render(
            request, "accounts/email_change_sent.html", {"email": form.cleaned_data["email"]}
        )
    return render(request, "accounts/email_change.html", {"form": form})


@require_http_methods(["GET", "POST"])
def email_confirm(request, uidb64, token):
    """GET asks for a click, POST confirms: mail scanners that open links change nothing."""
    user = selectors.user_from_email_change_link(uidb64=uidb64, token=token)
    if user is None:
        return render(request, "accounts/link_invalid.html", status=400)
    if request.method == "POST":
        if not services.user_email_change_confirm(user=user):
            return render(
                request,
                "accounts/refused.html",
                {"message": "Another account uses that address now: nothing changed."},
                status=409,
            )
        messages.success(request, f"You now log in with {user.email}.")
        return redirect("accounts:account" if request.user == user else "accounts:login")
    return render(request, "accounts/email_confirm.html", {"email": user.pending_email})


# --- Your data ----------------------------------------------------------------------------


@login_required
@require_GET
def data_export(request):
    data = selectors.user_export(user=request.user, current_session_key=request.session.session_key)
    response = JsonResponse(data, json_dumps_params={"indent": 2, "ensure_ascii": False})
    filename = f"corner-shop-data-{timezone.now():%Y-%m-%d}.json"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@login_required
@require_http_methods(["GET", "POST"])
def account_delete(request):
    user = request.user
    if user.is_staff:
        return render(
            request,
            "accounts/refused.html",
            {"message": "A staff account is closed by another admin, in the admin."},
            status=403,
        )
    form = CloseAccountForm(request.POST or None, user=user)
    if request.method == "POST" and form.is_valid():
        services.user_erase(user=user, site=_site(request))
        logout(request)
        messages.success(request, "Your account is closed and your personal data deleted. Goodbye!")
        return redirect("catalog:home")
    return render(
        request, "accounts/account_delete.html", {"form": form}, status=400 if form.errors else 200
    )


# --- Form drafts --------------------------------------------------------------------------


@login_required
@require_POST
def draft_save(request, form):
    """What drafts.js posts as the shopper types: 204, or 400 for input the form refuses."""
    draft = draft_form(form, request.POST)
    if draft is None:
        raise Http404("That form keeps no drafts.")
    if not draft.is_valid():
        return HttpResponseBadRequest("That draft does not fit the form.")
    services.draft_save(user=request.user, form=form, data=draft.cleaned_data)
    return HttpResponse(status=204)


@login_required
@require_POST
def draft_discard(request, form):
    if form not in DRAFT_FORMS:
        raise Http404("That form keeps no drafts.")
    services.draft_discard(user=request.user, form=form)
    messages.success(request, "The draft is discarded.")
    return redirect(DRAFT_FORMS[form].page)
