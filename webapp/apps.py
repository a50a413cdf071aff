from django.contrib.admin import apps


class StaffAdminConfig(apps.AdminConfig):
    """Django's admin, with the site that asks staff for their second factor."""

    default = False  # not webapp's own config: INSTALLED_APPS names it in the admin's place
    default_site = "webapp.admin.StaffAdminSite"
