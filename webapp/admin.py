"""The admin site: staff only, and only in a session that passed the second factor."""

from django_otp.admin import OTPAdminSite

from accounts.forms import StaffLoginForm


class StaffAdminSite(OTPAdminSite):
    """django-otp's site (a staff member whose session has not passed a one-time code is
    treated as not staff) with the shop's login form: password and code on one page."""

    name = "admin"
    site_header = "Webshop administration"
    site_title = "Webshop admin"
    login_form = StaffLoginForm
    login_template = "admin/staff_login.html"

    def __init__(self, name="admin"):
        super().__init__(name)
