from django import forms

from payments.services import PAYMENT_METHOD_RE


class PayForm(forms.Form):
    """What the payment page posts: the card as Stripe.js tokenised it (never its number)."""

    payment_method = forms.RegexField(
        regex=PAYMENT_METHOD_RE.pattern + r"\Z",
        max_length=255,
        widget=forms.HiddenInput,
        error_messages={
            "invalid": "Enter your card details.",
            "required": "Enter your card details.",
        },
    )
