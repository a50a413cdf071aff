from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from accounts import selectors, services
from accounts.forms import LoginForm, PreferencesForm, SignUpForm
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
