import functools
from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.urls import reverse

# How listings can be sorted: key -> (ORDER BY, label). A shopper's saved preference is one
# of these keys (accounts.User.default_sort); catalog.selectors.listing_shape applies them.
SORT_ORDERS = {
    "name": (("name", "id"), "Name"),
    "price": (("price", "id"), "Price: low to high"),
    "-price": (("-price", "id"), "Price: high to low"),
    "newest": (("-created_at", "-id"), "Newest"),
}
DEFAULT_SORT = "name"
PER_PAGE_CHOICES = (12, 24, 48)
DEFAULT_PER_PAGE = 24
RECENTLY_VIEWED_LIMIT = 10
# An anonymous visitor's recently viewed list is soft state in the shared cache (Redis,
# catalog/history.py), under a random id their session keeps for its lifetime (a login's
# new session key keeps it too), not in the session, where every new product viewed would
# be a database write.
VISITOR_SESSION_KEY = "visitor"


# Recommendations (catalog.services.recommendations_refresh): products shown per block; the
# table keeps more per product, spares for those sold out or withdrawn since the job ran.
RECOMMENDATIONS_SHOWN = 4
RECOMMENDATIONS_KEPT = 12
# Fewer co-purchases than this to show, and the product page says "often viewed together".
ALSO_BOUGHT_MIN = 2
PICKS_KEPT = 12  # per shopper, for "Picked for you" on the home page
# What a pick is, the one rule for every visitor's "Picked for you": from a `history`
# (owner, product_id) of what each owner viewed or ordered, every product the
# recommendations lead to from it and not in it, scored by the sum of those
# recommendations' scores, ranked per owner by score, then product id (reproducible).
# A signed-in shopper's are stored by the job (catalog.services.recommendations_refresh),
# an anonymous visitor's ranked from their recently viewed list (catalog.selectors.visitor_picks).
PICKS_RANKED_SQL = """
SELECT h.owner, r.recommended_id AS product_id, SUM(r.score) AS score,
       ROW_NUMBER() OVER (
           PARTITION BY h.owner ORDER BY SUM(r.score) DESC, r.recommended_id
       ) AS rank
FROM history h
JOIN catalog_recommendation r ON r.product_id = h.product_id
WHERE NOT EXISTS (
    SELECT 1 FROM history seen WHERE seen.owner = h.owner AND seen.product_id = r.recommended_id
)
GROUP BY h.owner, r.recommended_id
"""
# Views older than this say little about what a shopper wants now.
HISTORY_DAYS = 90


@functools.cache
def _around(name: str, kwarg: str, placeholder: str) -> tuple[str, str]:
    prefix, suffix = reverse(name, kwargs={kwarg: placeholder}).rsplit(placeholder, 1)
    return prefix, suffix


def slug_path(name: str, slug: str) -> str:
    """reverse(name, slug=slug), with the URL resolved once per process: a listing links
    dozens of products, and reversing each was a tenth of the product page's CPU."""
    prefix, suffix = _around(name, "slug", "slug")
    return f"{prefix}{slug}{suffix}"


def pk_path(name: str, pk: int) -> str:
    """reverse(name, pk=pk), resolved once per process as slug_path is (the cart's lines)."""
    prefix, suffix = _around(name, "pk", "2147483647")
    return f"{prefix}{pk}{suffix}"


class Category(models.Model):
    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(max_length=100, unique=True)
    description = models.TextField(blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "categories"

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return slug_path("catalog:category", self.slug)


# Pages show how many units are left only when few are ("Only 3 left"), else "In stock":
# most orders then change nothing a page shows, and leave every cached page as it is
# (catalog.services.stock_take).
LOW_STOCK = 10


def stock_shown(stock: int) -> int | None:
    """What the shop's pages show of a stock level: the units left when few, else None."""
    return stock if stock <= LOW_STOCK else None


class Product(models.Model):
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="products")
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=200, unique=True)
    description = models.TextField(blank=True)
    price = models.DecimalField(
        max_digits=10, decimal_places=2, validators=[MinValueValidator(Decimal("0.01"))]
    )
    image = models.ImageField(upload_to="products/", blank=True)
    stock = models.PositiveIntegerField(default=0, help_text="Units available to sell.")
    is_active = models.BooleanField(default=True, help_text="Shown in the shop and sellable.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(price__gt=0), name="catalog_product_price_positive"
            ),
        ]
        indexes = [
            models.Index(fields=["is_active", "name"], name="product_active_name"),
            models.Index(fields=["is_active", "price"], name="product_active_price"),
            models.Index(fields=["is_active", "-created_at"], name="product_active_newest"),
            # Category pages in their default order, without sorting the whole category.
            models.Index(
                fields=["category", "is_active", "name", "id"], name="product_category_name"
            ),
        ]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return slug_path("catalog:product", self.slug)

    @property
    def in_stock(self) -> bool:
        return self.stock > 0

    @property
    def few_left(self) -> int | None:
        return stock_shown(self.stock)


class RecentView(models.Model):
    """A signed-in shopper looked at a product: the saved copy of their list in Redis
    (catalog/history.py), written by the workers (catalog.services.recently_viewed_save)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="recent_views"
    )
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="recent_views")
    viewed_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "product"], name="recent_view_once_per_product")
        ]
        indexes = [models.Index(fields=["user", "-viewed_at"], name="recent_view_latest")]

    def __str__(self):
        return f"{self.user} viewed {self.product} at {self.viewed_at:%Y-%m-%d %H:%M}"


class Recommendation(models.Model):
    """Another product to show on a product's page, and how strongly: counts, not a model.

    Written only by catalog.services.recommendations_refresh: `score` is the number of
    orders that had both products (also bought), or of shoppers who viewed both (viewed
    together); the RECOMMENDATIONS_KEPT highest per product and kind are kept.
    """

    class Kind(models.TextChoices):
        ALSO_BOUGHT = "bought", "Customers who bought this also bought"
        VIEWED_TOGETHER = "viewed", "Often viewed together"

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="+")
    recommended = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=6, choices=Kind)
    score = models.PositiveIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["product", "kind", "recommended"], name="recommendation_once"
            )
        ]

    def __str__(self):
        return f"{self.product_id} -> {self.recommended_id} ({self.kind}, {self.score})"


class Pick(models.Model):
    """A product picked for a shopper from their own views and orders (Picked for you).

    Written only by catalog.services.recommendations_refresh, by PICKS_RANKED_SQL: `score`
    sums the recommendation scores that lead to the product from everything in the
    shopper's history; products already in that history are never picked.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="picks"
    )
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="picks")
    score = models.PositiveIntegerField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "product"], name="pick_once")]

    def __str__(self):
        return f"{self.product_id} for {self.user_id} ({self.score})"
