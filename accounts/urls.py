from django.contrib.auth import views as auth_views
from django.urls import path, reverse_lazy

from accounts import views
from accounts.forms import PasswordResetForm

app_name = "accounts"
urlpatterns = [
    path("", views.account, name="account"),
    path("signup/", views.sign_up, name="sign_up"),
    path("signup/done/", views.sign_up_done, name="sign_up_done"),
    path("confirm/<uidb64>/<token>/", views.confirm_email, name="confirm"),
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("preferences/", views.preferences, name="preferences"),
    path("addresses/", views.address_list, name="addresses"),
    path("addresses/new/", views.address_add, name="address_add"),
    path("addresses/<id:pk>/", views.address_edit, name="address_edit"),
    path("addresses/<id:pk>/delete/", views.address_delete, name="address_delete"),
    path("addresses/<id:pk>/default/", views.address_default, name="address_default"),
    path("sessions/", views.devices, name="devices"),
    path("sessions/<slug:ref>/sign-out/", views.device_sign_out, name="device_sign_out"),
    path(
        "sessions/sign-out-others/", views.devices_sign_out_others, name="devices_sign_out_others"
    ),
    path("email/", views.email_change, name="email_change"),
    path("email/confirm/<uidb64>/<token>/", views.email_confirm, name="email_confirm"),
    path("export/", views.data_export, name="export"),
    path("delete/", views.account_delete, name="delete"),
    path("drafts/<slug:form>/", views.draft_save, name="draft_save"),
    path("drafts/<slug:form>/discard/", views.draft_discard, name="draft_discard"),
    path("password/change/", views.PasswordChangeView.as_view(), name="password_change"),
    path(
        "password/change/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
    path(
        "password/reset/",
        auth_views.PasswordResetView.as_view(
            form_class=PasswordResetForm,
            success_url=reverse_lazy("accounts:password_reset_done"),
            email_template_name="registration/password_reset_email.txt",
        ),
        name="password_reset",
    ),
    path(
        "password/reset/sent/",
        auth_views.PasswordResetDoneView.as_view(),
        name="password_reset_done",
    ),
    path(
        "password/reset/<uidb64>/<token>/",
        views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "password/reset/complete/",
        auth_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
]
