"""Product cards rendered once per catalogue generation and process.

A grid (a listing, recently viewed, picked for you, recommendations) joins its products'
cached cards instead of rendering each one: a visitor's recently viewed list is a new
combination with every product they view, its cards are not.
"""

from django import template
from django.template.loader import get_template
from django.utils.safestring import mark_safe

from catalog.selectors import CATALOG_TTL, generation_cache

register = template.Library()


@register.simple_tag(takes_context=True)
def product_cards(context, products, compact=False):
    products, compact = list(products), bool(compact)
    prefix = f"catalog:{context['catalog_version']}:card:{int(compact)}:"
    keys = [f"{prefix}{product.pk}" for product in products]
    cards = generation_cache.get_many(keys)
    card = get_template("catalog/includes/product_card.html")
    missing = {
        key: card.render({"product": product, "compact": compact})
        for key, product in zip(keys, products, strict=True)
        if key not in cards
    }
    if missing:
        generation_cache.set_many(missing, CATALOG_TTL)
        cards.update(missing)
    # Each card is the output of an autoescaping template.
    return mark_safe("".join(cards[key] for key in keys))  # noqa: S308
