"""A trigram index for product search on PostgreSQL.

Search is `name__icontains`, which Django sends as UPPER("name"::text) LIKE UPPER('%q%'):
a B-tree cannot serve a leading wildcard, a pg_trgm GIN index on the same expression can,
so a search stays index-backed at 100,000 products. SQLite (make run) keeps a table scan.
"""

from django.db import migrations

CREATE = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX IF NOT EXISTS product_name_trgm ON catalog_product "
    "USING gin ((UPPER(name::text)) gin_trgm_ops)",
]
DROP = ["DROP INDEX IF EXISTS product_name_trgm"]


def run(statements):
    def apply(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            for statement in statements:
                schema_editor.execute(statement)

    return apply


class Migration(migrations.Migration):
    dependencies = [("catalog", "0002_recentview")]

    operations = [migrations.RunPython(run(CREATE), run(DROP))]
