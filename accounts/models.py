from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.utils import timezone

from catalog.models import DEFAULT_PER_PAGE, DEFAULT_SORT, PER_PAGE_CHOICES, SORT_ORDERS


def normalize_email(email: str) -> str:
    """Emails are compared case-insensitively, so they are stored lower-cased."""
    return email.strip().lower()


class UserManager(BaseUserManager):
    use_in_migrations = True

    def get_by_natural_key(self, email):
        return self.get(email=normalize_email(email))

    def create_user(self, email, password=None, **fields):
        user = self.model(email=normalize_email(email), **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email, password=None, **fields):
        return self.create_user(email, password, is_staff=True, is_superuser=True, **fields)


class User(AbstractBaseUser, PermissionsMixin):
    """A shopper or an admin; the email address is the login.

    Preferences live on the row itself: the user is loaded on every request anyway, so
    applying them costs no query.
    """

    PRODUCTS_PER_PAGE_CHOICES = [(n, str(n)) for n in PER_PAGE_CHOICES]
    SORT_CHOICES = [(key, label) for key, (_order, label) in SORT_ORDERS.items()]

    email = models.EmailField(unique=True)
    display_name = models.CharField(max_length=80, blank=True)
    is_staff = models.BooleanField(default=False, help_text="Can log in to the admin.")
    is_active = models.BooleanField(
        default=True, help_text="Can log in. Sign-ups stay inactive until the email is confirmed."
    )
    email_verified = models.BooleanField(default=False)
    date_joined = models.DateTimeField(default=timezone.now)
    products_per_page = models.PositiveSmallIntegerField(
        choices=PRODUCTS_PER_PAGE_CHOICES, default=DEFAULT_PER_PAGE
    )
    default_sort = models.CharField(max_length=10, choices=SORT_CHOICES, default=DEFAULT_SORT)
    newsletter = models.BooleanField("newsletter opt-in", default=False)
    newsletter_opted_in_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Checkout offers this address first; without one, the last address used.
    default_address = models.ForeignKey(
        "Address", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # An address the shopper asked to log in with, until they confirm it from its mailbox.
    # db_default: instances still on the previous release insert users without this column.
    pending_email = models.EmailField(blank=True, default="", db_default="", editable=False)
    # Set when the shopper closed the account: the row stays for the orders that name it,
    # with every personal field erased (accounts.services.user_erase).
    erased_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"

    def __str__(self):
        return f"erased account #{self.pk}" if self.erased_at else self.email

    def save(self, *args, **kwargs):
        self.email = normalize_email(self.email)
        super().save(*args, **kwargs)

    def get_short_name(self):
        return self.display_name or self.email.split("@")[0]


class PostalAddress(models.Model):
    """The fields of a shipping address: an address book entry, and an order's copy of it."""

    full_name = models.CharField(max_length=100)
    line1 = models.CharField("address", max_length=200)
    line2 = models.CharField("address line 2", max_length=200, blank=True)
    city = models.CharField(max_length=100)
    postcode = models.CharField(max_length=20)
    country = models.CharField(max_length=100)

    class Meta:
        abstract = True


class Address(PostalAddress):
    """A shipping address in the user's address book, offered again at the next checkout."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="addresses")
    last_used_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-last_used_at"]
        verbose_name_plural = "addresses"

    def __str__(self):
        return ", ".join(
            part
            for part in [self.full_name, self.line1, self.line2, self.postcode, self.city]
            if part
        )

    @property
    def fields(self) -> dict[str, str]:
        return {name: getattr(self, name) for name in ADDRESS_FIELDS}


ADDRESS_FIELDS = ["full_name", "line1", "line2", "city", "postcode", "country"]


DRAFT_TTL_DAYS = 30  # a form draft nobody touched for this long is gone
# A signed-in user is read from the shared cache (accounts/middleware.py); every change to
# the account drops the entry at once, so this only bounds a fill that raced a change.
SIGNED_IN_USER_TTL = 60


def signed_in_user_cache_key(user_id) -> str:
    return f"accounts:user:{user_id}"


class FormDraft(models.Model):
    """What a signed-in shopper typed into a form but has not submitted yet, saved as they
    type (webapp/static/js/drafts.js) and offered again on any device until they submit
    or discard it."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="drafts")
    form = models.CharField(max_length=40)
    data = models.JSONField(default=dict)
    updated_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "form"], name="form_draft_once_per_form")
        ]

    def __str__(self):
        return f"{self.form} draft of {self.user}"


class EmailQuota(models.Model):
    """How many account emails one key (an address, a client) asked for in one window.

    Counted in PostgreSQL, so the limit holds across every instance and survives a Redis
    restart; `accounts.services.email_quota_take` is the only writer.
    """

    key = models.CharField(max_length=100)
    window_start = models.DateTimeField()
    count = models.PositiveIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["key", "window_start"], name="email_quota_key_window")
        ]
        indexes = [models.Index(fields=["window_start"], name="email_quota_window")]

    def __str__(self):
        return f"{self.key} {self.window_start:%Y-%m-%d %H:%M}: {self.count}"
