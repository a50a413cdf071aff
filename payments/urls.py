from django.urls import path

from payments import views

app_name = "payments"
urlpatterns = [
    path("orders/<id:pk>/pay/", views.pay, name="pay"),
    path("orders/guest/<str:token>/pay/", views.guest_pay, name="guest_pay"),
    # The URL registered in Stripe's dashboard (the StripeWebhookUrl output).
    path("payments/webhook/", views.webhook, name="webhook"),
]
