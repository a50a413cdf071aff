import re

from django import forms

from cart.models import MAX_PER_LINE

QUANTITY_ERRORS = {
    "min_value": "Choose a quantity of at least 1.",
    "max_value": f"At most {MAX_PER_LINE} of one product per order.",
    "invalid": "Enter a whole number.",
    "required": "Enter a quantity.",
}


class DigitsField(forms.IntegerField):
    """A whole number written in ASCII digits only: Django's IntegerField also takes "1.0"
    and digits of other scripts (Arabic-Indic, full-width), which no form of ours sends."""

    def to_python(self, value):
        if value not in self.empty_values and not re.fullmatch(r"\s*[0-9]{1,19}\s*", str(value)):
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return super().to_python(value)


class QuantityField(DigitsField):
    def __init__(self, **kwargs):
        super().__init__(
            min_value=1, max_value=MAX_PER_LINE, error_messages=QUANTITY_ERRORS, **kwargs
        )


class AddToCartForm(forms.Form):
    product = DigitsField(min_value=1, max_value=2**63 - 1, widget=forms.HiddenInput)
    quantity = QuantityField(initial=1)
    next = forms.CharField(required=False, max_length=2000, widget=forms.HiddenInput)


class QuantityForm(forms.Form):
    quantity = QuantityField()


class PlaceOrderForm(forms.Form):
    idempotency_key = forms.UUIDField(widget=forms.HiddenInput)
    fingerprint = forms.CharField(max_length=20_000, widget=forms.HiddenInput)
    test_payment = forms.BooleanField(
        label="Pay with the test card (4242 4242 4242 4242). This is a demo shop: no money moves.",
        error_messages={"required": "Confirm the test payment to place the order."},
    )

    def __init__(self, *args, pay_by_card: bool, **kwargs):
        """Paying by card (Stripe on), the card is asked for on the payment page next."""
        super().__init__(*args, **kwargs)
        if pay_by_card:
            del self.fields["test_payment"]
