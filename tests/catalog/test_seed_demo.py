import pytest
from django.core.management import call_command

from catalog.models import Category, Product

pytestmark = pytest.mark.django_db


def test_seed_demo_builds_a_catalogue_and_is_idempotent(capsys):
    call_command("seed_demo")
    assert Category.objects.count() == 10
    assert Product.objects.count() == 200
    assert not Product.objects.filter(image="").exists()
    assert Product.objects.filter(stock=0).exists()  # a few sold-out products, as in real life
    first_run = list(Product.objects.order_by("slug").values_list("slug", "price", "stock"))

    call_command("seed_demo")
    assert "0 products created, 200 already there" in capsys.readouterr().out
    assert list(Product.objects.order_by("slug").values_list("slug", "price", "stock")) == (
        first_run
    )
