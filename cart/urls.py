from django.urls import path

from cart import views

app_name = "cart"
urlpatterns = [
    path("cart/", views.cart_detail, name="detail"),
    path("cart/add/", views.cart_add, name="add"),
    path("cart/lines/<id:pk>/", views.cart_line_update, name="line_update"),
    path("cart/lines/<id:pk>/remove/", views.cart_line_remove, name="line_remove"),
    path("checkout/", views.checkout_address, name="checkout"),
    path("checkout/review/", views.checkout_review, name="checkout_review"),
    path("orders/", views.order_list, name="orders"),
    path("orders/<id:pk>/", views.order_detail, name="order"),
    path("orders/guest/<str:token>/", views.guest_order, name="guest_order"),
]
