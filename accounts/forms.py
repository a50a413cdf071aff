from dataclasses import dataclass

from django import forms
from django.contrib.auth import forms as auth_forms
from django.contrib.auth import password_validation
from django.contrib.auth.signals import user_login_failed
from django.template.loader import render_to_string
from django_otp.admin import OTPAdminAuthenticationForm
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import selectors, services
from accounts.models import ADDRESS_FIELDS, Address, User, normalize_email
from notifications.services import email_enqueue, event_key
from webapp.clientip import client_ip


class AdminUserCreationForm(auth_forms.AdminUserCreationForm):
    class Meta:
        model = User
        fields = ["email"]


class AdminUserChangeForm(auth_forms.UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"


class DisplayNameField(forms.CharField):
    """Any text a person calls themselves, minus control characters; shown escaped."""

    def __init__(self, **kwargs):
        super().__init__(max_length=80, required=False, strip=True, **kwargs)

    def to_python(self, value):
        value = super().to_python(value)
        return "".join(c for c in value if c.isprintable())


class SignUpForm(forms.Form):
    """Deliberately no "email already registered" error: that would enumerate accounts."""

    email = forms.EmailField(
        max_length=254, widget=forms.EmailInput(attrs={"autocomplete": "email"})
    )
    display_name = DisplayNameField(label="Name (optional)")
    password1 = forms.CharField(
        label="Password",
        strip=False,
        max_length=128,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=password_validation.password_validators_help_text_html(),
    )
    password2 = forms.CharField(
        label="Password again",
        strip=False,
        max_length=128,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean_email(self):
        return normalize_email(self.cleaned_data["email"])

    def clean(self):
        cleaned = super().clean()
        password = cleaned.get("password1")
        if password and password != cleaned.get("password2"):
            self.add_error("password2", "The two passwords differ.")
        elif password and "email" in cleaned:
            candidate = User(email=cleaned["email"], display_name=cleaned.get("display_name", ""))
            try:
                password_validation.validate_password(password, candidate)
            except forms.ValidationError as error:
                self.add_error("password1", error)
        return cleaned


class LoginForm(auth_forms.AuthenticationForm):
    username = forms.EmailField(
        label="Email",
        max_length=254,
        widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"}),
    )
    error_messages = {
        **auth_forms.AuthenticationForm.error_messages,
        # The same words for an unknown address, a wrong password and an unconfirmed account.
        "invalid_login": "That email and password do not match an account. Check both.",
    }


class StaffLoginForm(OTPAdminAuthenticationForm):
    """The admin's login: password, then a code from the staff member's authenticator app
    (six digits) or one of their recovery codes, on one form.

    A wrong code counts as a failed login in the shop's throttle (django-axes), together
    with wrong passwords on this form and on the shop's: five, and the address is locked
    out from that client, here and there alike.
    """

    otp_token = forms.CharField(
        label="Code from your authenticator app, or a recovery code",
        max_length=16,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )

    def _chosen_device(self, user):
        # Six digits are the app's; anything else can only be a recovery code. Choosing
        # here spares staff a device menu, and a failed code throttles one device only.
        token = (self.cleaned_data.get("otp_token") or "").strip()
        model = TOTPDevice if len(token) == 6 and token.isdigit() else StaticDevice
        return model.objects.devices_for_user(user, confirmed=True).first()

    def clean_otp(self, user):
        try:
            super().clean_otp(user)
        except forms.ValidationError:
            if user is not None:
                user_login_failed.send(
                    sender=__name__, credentials={"username": user.email}, request=self.request
                )
            raise


class PreferencesForm(forms.Form):
    """Not a ModelForm: validating must not touch the user before the service compares."""

    display_name = DisplayNameField()
    products_per_page = forms.TypedChoiceField(
        label="Products per page", choices=User.PRODUCTS_PER_PAGE_CHOICES, coerce=int
    )
    default_sort = forms.ChoiceField(label="Sort products by", choices=User.SORT_CHOICES)
    newsletter = forms.BooleanField(label="Send me the monthly newsletter", required=False)


class AddressForm(forms.ModelForm):
    class Meta:
        model = Address
        fields = ADDRESS_FIELDS


class GuestCheckoutForm(AddressForm):
    """A guest's checkout: where to send the confirmation, then the address."""

    email = forms.EmailField(
        max_length=254,
        help_text="We send the order confirmation and a link to the order here.",
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    field_order = ["email", *ADDRESS_FIELDS]

    def clean_email(self):
        return normalize_email(self.cleaned_data["email"])


@dataclass(frozen=True)
class DraftForm:
    """A form whose unsubmitted input is kept as a draft (accounts.models.FormDraft)."""

    form_class: type[forms.BaseForm]
    page: str  # the URL name of the page that shows the form


DRAFT_FORMS = {"checkout_address": DraftForm(AddressForm, "cart:checkout")}


def draft_form(name: str, data) -> forms.BaseForm | None:
    """The form that checks a draft of form `name`: the real form's fields and limits,
    none required (a draft is half-typed); None when that form keeps no drafts."""
    if name not in DRAFT_FORMS:
        return None
    form = DRAFT_FORMS[name].form_class(data)
    for field in form.fields.values():
        field.required = False
    return form


class EmailChangeForm(forms.Form):
    email = forms.EmailField(
        label="New email",
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    password = forms.CharField(
        label="Your password",
        strip=False,
        max_length=128,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_email(self):
        email = normalize_email(self.cleaned_data["email"])
        if email == self.user.email:
            raise forms.ValidationError("That is already your email.")
        return email

    def clean_password(self):
        if not self.user.check_password(self.cleaned_data["password"]):
            raise forms.ValidationError("That is not your password.")
        return self.cleaned_data["password"]


class CloseAccountForm(forms.Form):
    password = forms.CharField(
        label="Your password",
        strip=False,
        max_length=128,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    confirm = forms.BooleanField(
        label="I understand: my account and its personal data are deleted for good.",
        error_messages={"required": "Tick the box to close your account."},
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_password(self):
        if not self.user.check_password(self.cleaned_data["password"]):
            raise forms.ValidationError("That is not your password.")
        return self.cleaned_data["password"]


class AdminPasswordChangeForm(auth_forms.AdminPasswordChangeForm):
    """An admin setting someone's password signs that account out everywhere, as the
    shopper's own change and reset do (accounts.services.sessions_end)."""

    def save(self, commit=True):
        user = super().save(commit)
        if commit:
            services.sessions_end(user=user)
        return user


class SavedAddressForm(forms.Form):
    """Pick one of the user's own addresses (no other account's id validates)."""

    address = forms.ModelChoiceField(queryset=Address.objects.none(), empty_label=None)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["address"].queryset = selectors.address_list(user=user)


class PasswordResetForm(auth_forms.PasswordResetForm):
    """Django's form, within the account emails' quota (past it, nothing is sent, and the
    page that follows is the same as ever: it never says whether the address exists), with
    its email queued for a worker instead of sent in the request."""

    def save(self, *, request, **kwargs):
        email = self.cleaned_data["email"]
        if services.email_quota_take(address=email, client=client_ip(request)):
            super().save(request=request, **kwargs)

    def send_mail(
        self,
        subject_template_name,
        email_template_name,
        context,
        from_email,
        to_email,
        html_email_template_name=None,
    ):
        email_enqueue(
            # The token changes with every second and every login: one reset asked, one email.
            key=event_key("password_reset", f"{context['uid']}/{context['token']}"),
            kind="password_reset",
            to=to_email,
            subject="".join(render_to_string(subject_template_name, context).splitlines()),
            body=render_to_string(email_template_name, context),
        )
