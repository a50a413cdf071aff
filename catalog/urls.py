from django.urls import path

from catalog import views

app_name = "catalog"
urlpatterns = [
    path("", views.product_list, name="home"),
    path("category/<slug:slug>/", views.product_list, name="category"),
    path("products/<slug:slug>/", views.product_detail, name="product"),
]
