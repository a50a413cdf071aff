"""CACHES["local"] keeps the objects themselves (webapp.cache.ObjectMemoryCache)."""

from django.core.cache import caches


def test_the_local_cache_hands_back_the_object_it_was_given_until_it_expires():
    local = caches["local"]
    categories = [object(), object()]
    local.set("catalog:1:categories", categories, 300)
    assert local.get("catalog:1:categories") is categories  # not a copy: nothing unpickled
    assert local.get_many(["catalog:1:categories", "absent"]) == {
        "catalog:1:categories": categories
    }
    assert not local.add("catalog:1:categories", [], 300)  # present: add keeps it
    assert local.get_or_set("catalog:1:other", lambda: "made", 300) == "made"
    local.set("catalog:1:gone", "soon", -1)  # already expired
    assert local.get("catalog:1:gone", "missing") == "missing"
    assert local.add("catalog:1:gone", "again", 300) and local.get("catalog:1:gone") == "again"
