from django import forms
from django.contrib import admin, messages
from django.utils.html import format_html

from catalog import services
from catalog.models import Category, Product


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ["name", "slug"]
    search_fields = ["name"]
    prepopulated_fields = {"slug": ["name"]}


class ProductChangeForm(forms.ModelForm):
    """An existing product's form: stock is changed by a delta (catalog.services.stock_adjust),
    never by typing a new number over sales the admin has not seen."""

    stock_change = forms.IntegerField(
        label="Receive or write off",
        required=False,
        help_text="Units received (e.g. 5) or written off (e.g. -2). Sales meanwhile are kept.",
    )

    class Meta:
        model = Product
        fields = ["category", "name", "slug", "description", "price", "image", "is_active"]

    def clean_stock_change(self):
        change = self.cleaned_data["stock_change"] or 0
        left = self.instance.stock  # as loaded for this save: a hint, the UPDATE decides
        if left + change < 0:
            raise forms.ValidationError(f"Only {left} in stock: you can write off {left} at most.")
        return change


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ["thumbnail", "name", "category", "price", "stock", "is_active", "updated_at"]
    list_display_links = ["thumbnail", "name"]
    list_editable = ["price", "is_active"]
    list_filter = ["is_active", "category"]
    list_select_related = ["category"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    list_per_page = 50

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is not None:
            kwargs["form"] = ProductChangeForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_readonly_fields(self, request, obj=None):
        return ["stock", "created_at", "updated_at"] if obj else ["created_at", "updated_at"]

    def save_model(self, request, obj, form, change):
        """A new product is inserted whole; an existing one saves only the fields the admin
        changed (never stock, which concurrent checkouts change), then the stock delta."""
        if not change:
            obj.save()
            return
        model_fields = {field.name for field in obj._meta.concrete_fields}
        changed = [name for name in form.changed_data if name in model_fields]
        if changed:
            obj.save(update_fields=[*changed, "updated_at"])
        stock_change = form.cleaned_data.get("stock_change")
        if stock_change:
            try:
                stock = services.stock_adjust(product_id=obj.pk, change=stock_change)
            except services.StockError as error:
                self.message_user(request, str(error), messages.ERROR)
            else:
                obj.stock = stock
                self.message_user(request, f"Stock of {obj.name} is now {stock}.")

    @admin.display(description="")
    def thumbnail(self, product):
        if not product.image:
            return ""
        return format_html('<img src="{}" alt="" width="40" height="40">', product.image.url)
