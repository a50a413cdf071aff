"""The shop's category table, read-only, so the bare view runs the ceiling's very query."""

from django.db import models


class Category(models.Model):
    class Meta:
        managed = False  # the shop's migrations own catalog_category
        db_table = "catalog_category"

    def __str__(self) -> str:
        return str(self.pk)
