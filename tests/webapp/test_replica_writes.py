"""Which statements count as a write for read-your-writes (webapp.replicas.may_write): a
read taken for a write pins a visitor to the primary, a write taken for a read would serve
them a stale page."""

import pytest

from webapp.replicas import may_write


@pytest.mark.parametrize(
    "sql",
    [
        'SELECT "catalog_product"."id" FROM "catalog_product"',
        "  select 1",
        "SAVEPOINT s1",
        "RELEASE SAVEPOINT s1",
        "SET TIME ZONE 'UTC'",
        # The anonymous visitor's "Picked for you" (catalog.selectors.visitor_picks).
        "WITH history (owner, product_id) AS (VALUES (0, %s)) SELECT p.* FROM picks p",
        'WITH t AS (SELECT "updated_at" FROM "catalog_product") SELECT * FROM t',
    ],
)
def test_reads_are_not_writes(sql):
    assert not may_write(sql)


@pytest.mark.parametrize(
    "sql",
    [
        'INSERT INTO "cart_cartline" ("cart_id") VALUES (%s)',
        'UPDATE "catalog_product" SET "stock" = "stock" - 1',
        "DELETE FROM cart_cartline WHERE cart_id = %s",
        "WITH gone AS (DELETE FROM cart_cart RETURNING id) SELECT count(*) FROM gone",
        "with moved as (update catalog_product set stock = 0 returning id) select 1",
        "CREATE TABLE t (id int)",
    ],
)
def test_writes_are_writes(sql):
    assert may_write(sql)
