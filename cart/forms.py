from django import forms

from accounts.models import ADDRESS_FIELDS, Address
from cart.models import MAX_PER_LINE

QUANTITY_ERRORS = {
    "min_value": "Choose a quantity of at least 1.",
    "max_value": f"At most {MAX_PER_LINE} of one product per order.",
    "invalid": "Enter a whole number.",
    "required": "Enter a quantity.",
}


class QuantityField(forms.IntegerField):
    def __init__(self, **kwargs):
        super().__init__(
            min_value=1, max_value=MAX_PER_LINE, error_messages=QUANTITY_ERRORS, **kwargs
        )


class AddToCartForm(forms.Form):
    product = forms.IntegerField(min_value=1, max_value=2**63 - 1, widget=forms.HiddenInput)
    quantity = QuantityField(initial=1)
    next = forms.CharField(required=False, max_length=2000, widget=forms.HiddenInput)


class QuantityForm(forms.Form):
    quantity = QuantityField()


class AddressForm(forms.ModelForm):
    class Meta:
        model = Address
        fields = ADDRESS_FIELDS


class SavedAddressForm(forms.Form):
    address = forms.ModelChoiceField(queryset=Address.objects.none(), empty_label=None)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["address"].queryset = user.addresses.all()


class PlaceOrderForm(forms.Form):
    idempotency_key = forms.UUIDField(widget=forms.HiddenInput)
    fingerprint = forms.CharField(max_length=20_000, widget=forms.HiddenInput)
    test_payment = forms.BooleanField(
        label="Pay with the test card (4242 4242 4242 4242). This is a demo shop: no money moves.",
        error_messages={"required": "Confirm the test payment to place the order."},
    )
