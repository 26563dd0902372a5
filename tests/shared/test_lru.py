from __future__ import annotations

import threading

import pytest

from shared.lru import BoundedLru


def test_the_least_recently_used_entry_goes_when_full():
    cache = BoundedLru(2)
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a") == 1  # "a" is now the most recent
    cache.put("c", 3)
    assert ("a" in cache, "b" in cache, "c" in cache) == (True, False, True)
    assert len(cache) == 2


def test_a_missing_key_gives_the_default_and_pop_removes():
    cache = BoundedLru(3)
    assert cache.get("x", "none") == "none"
    cache.put("x", 1)
    assert cache.pop("x") == 1 and cache.pop("x") is None


def test_it_stays_bounded_under_many_threads():
    cache = BoundedLru(50)

    def fill(offset: int) -> None:
        for number in range(500):
            cache.put((offset, number), number)
            cache.get((offset, number - 1))

    threads = [threading.Thread(target=fill, args=(offset,)) for offset in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(cache) == 50


def test_a_cache_of_nothing_is_refused():
    with pytest.raises(ValueError):
        BoundedLru(0)


def test_peek_reads_without_counting_as_a_use():
    cache = BoundedLru(2)
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.peek("a") == 1 and cache.peek("x", "none") == "none"
    cache.put("c", 3)  # "a" is still the least recently used
    assert cache.keys() == ["b", "c"]


def test_the_oldest_stale_entries_go_and_the_first_fresh_one_stops_the_sweep():
    cache = BoundedLru(5)
    for key, age in (("a", 9), ("b", 8), ("c", 1), ("d", 9)):
        cache.put(key, age)
    seen = []

    def stale(age):
        seen.append(age)
        return age > 5

    assert cache.evict_oldest_while(stale) == 2
    assert cache.keys() == ["c", "d"]  # "d" is stale too, but newer than a fresh entry
    assert seen == [9, 8, 1]
    cache.clear()
    assert cache.evict_oldest_while(stale) == 0 and len(cache) == 0


def test_iteration_is_a_snapshot_of_the_keys_oldest_first():
    cache = BoundedLru(3)
    for key in "abc":
        cache.put(key, key)
    cache.get("a")
    keys = iter(cache)
    cache.put("d", "d")  # changing the cache while iterating is safe
    assert list(keys) == ["b", "c", "a"]
    assert list(cache) == ["c", "a", "d"]
