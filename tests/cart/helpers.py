from cart.models import CartLine


def add(client, product, quantity=1, **extra):
    return client.post("/cart/add/", {"product": product.pk, "quantity": quantity, **extra})


def quantities(**filters) -> dict[str, int]:
    """Every cart line in the database: product name -> quantity."""
    lines = CartLine.objects.filter(**filters).select_related("product")
    return {line.product.name: line.quantity for line in lines}
