"""Small builders for test data (plain functions: the models are simple)."""

from decimal import Decimal
from itertools import count

from catalog.models import Category, Product

_sequence = count(1)


def make_category(**fields) -> Category:
    n = next(_sequence)
    fields.setdefault("name", f"Category {n}")
    fields.setdefault("slug", f"category-{n}")
    return Category.objects.create(**fields)


def make_product(**fields) -> Product:
    n = next(_sequence)
    if "category" not in fields:
        fields["category"] = make_category()
    fields.setdefault("name", f"Product {n}")
    fields.setdefault("slug", f"product-{n}")
    fields.setdefault("price", Decimal("9.99"))
    fields.setdefault("stock", 10)
    return Product.objects.create(**fields)
