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
