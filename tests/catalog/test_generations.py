"""Catalogue cache generations in Redis (catalog/generations.py), on the suite's real Redis.

Positions here are made up: what matters is how generations are ordered and picked, which
is the same for the WAL positions a primary gives them.
"""

import pytest

from catalog import generations
from catalog.generations import KEPT, _RedisStore


@pytest.fixture
def store() -> _RedisStore:
    return _RedisStore()


def test_each_generation_scores_above_every_earlier_one(store):
    store.add(1, 100)
    store.add(2, 90)  # committed earlier, added later (or on a new primary after a failover)
    store.add(3, 100)
    newest, _ = store.read(None)
    assert newest == (3, 102)


def test_a_replica_reads_the_newest_generation_it_has_replayed(store):
    for version, position in [(1, 100), (2, 200), (3, 300)]:
        store.add(version, position)
    assert store.read(250) == ((3, 300), (2, 200))
    assert store.read(300) == ((3, 300), (3, 300))
    assert store.read(99) == ((3, 300), None)  # behind every generation: the primary's turn
    assert store.read(None) == ((3, 300), None)


def test_only_the_newest_generations_are_kept(store):
    for version in range(KEPT + 5):
        store.add(version, version * 10)
    assert store.client.zcard(store.key) == KEPT
    assert store.read(40) == ((KEPT + 4, (KEPT + 4) * 10), None)


def test_a_request_without_a_replica_reads_the_newest_generation(rf, store):
    assert store.read(None) == (None, None)
    first = generations.generation_for_request(rf.get("/"))  # none yet: one starts
    generations.generation_start()
    second = generations.generation_for_request(rf.get("/"))
    assert second != first
    assert store.read(None)[0][0] == second
