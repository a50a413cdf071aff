from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from accounts.forms import AdminPasswordChangeForm, AdminUserChangeForm, AdminUserCreationForm
from accounts.models import Address, User


class ErasedFilter(admin.SimpleListFilter):
    title = "account"
    parameter_name = "erased"

    def lookups(self, request, model_admin):
        return [("no", "Open"), ("yes", "Erased (closed by the shopper)")]

    def queryset(self, request, queryset):
        if self.value() in ("yes", "no"):
            return queryset.filter(erased_at__isnull=self.value() == "no")
        return queryset


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    form = AdminUserChangeForm
    add_form = AdminUserCreationForm
    change_password_form = AdminPasswordChangeForm
    ordering = ["email"]
    list_display = [
        "account",
        "display_name",
        "is_staff",
        "is_active",
        "date_joined",
        "last_login",
    ]
    list_filter = [
        ErasedFilter,
        "is_staff",
        "is_superuser",
        "is_active",
        "email_verified",
        "newsletter",
    ]
    actions = ["deactivate_users"]
    search_fields = ["email", "display_name"]
    readonly_fields = [
        "date_joined",
        "last_login",
        "newsletter_opted_in_at",
        "erased_at",
        "pending_email",
    ]
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        ("Profile", {"fields": ["display_name", "email_verified", "pending_email"]}),
        (
            "Preferences",
            {
                "fields": [
                    "products_per_page",
                    "default_sort",
                    "newsletter",
                    "newsletter_opted_in_at",
                ]
            },
        ),
        (
            "Permissions",
            {"fields": ["is_active", "is_staff", "is_superuser", "groups", "user_permissions"]},
        ),
        ("Dates", {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [
        (
            None,
            {"classes": ["wide"], "fields": ["email", "usable_password", "password1", "password2"]},
        )
    ]

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj is not None and obj.erased_at:
            closed = (
                "Closed by the shopper",
                {
                    "fields": ["erased_at"],
                    "description": (
                        "Its personal data is erased; the row stays for the orders that name it."
                    ),
                },
            )
            return [closed, *fieldsets]
        return fieldsets

    @admin.display(description="account", ordering="email")
    def account(self, user):
        return str(user)  # "erased account #12" once the shopper closed it

    @admin.action(description="Deactivate selected users (they can no longer log in)")
    def deactivate_users(self, request, queryset):
        updated = queryset.update(is_active=False)
        self.message_user(request, f"{updated} user(s) deactivated.")


@admin.register(Address)
class AddressAdmin(admin.ModelAdmin):
    list_display = ["full_name", "city", "country", "user", "last_used_at"]
    search_fields = ["full_name", "user__email", "postcode", "city"]
    list_select_related = ["user"]
