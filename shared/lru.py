"""One bounded, thread-safe LRU mapping: the least recently used entry goes when it is full.

Why one helper: per-user state kept in memory (the choices shown, profiles, conversations)
must never grow with the number of people who ever wrote; four hand-rolled copies of this had
drifted apart (one not thread-safe, one not bounded on every path).
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Callable, Generic, Hashable, Iterator, List, Optional, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class BoundedLru(Generic[K, V]):
    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self.capacity = capacity
        self._items: "OrderedDict[K, V]" = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: K, default: Optional[V] = None) -> Optional[V]:
        """The value (now the most recently used), or ``default``."""
        with self._lock:
            if key not in self._items:
                return default
            self._items.move_to_end(key)
            return self._items[key]

    def peek(self, key: K, default: Optional[V] = None) -> Optional[V]:
        """The value without counting as a use (its place in the order stays), or ``default``.

        For a read that must not keep an entry alive, e.g. one only a write should refresh.
        """
        with self._lock:
            return self._items.get(key, default)

    def put(self, key: K, value: V) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.capacity:
                self._items.popitem(last=False)

    def pop(self, key: K, default: Optional[V] = None) -> Optional[V]:
        with self._lock:
            return self._items.pop(key, default)

    def evict_oldest_while(self, stale: Callable[[V], bool]) -> int:
        """Drop entries from the least recently used end while ``stale(value)`` holds; how many went.

        Why from the oldest end and stopping at the first fresh one: for an idle timeout kept in
        the values (the time of last use), the order of use is the order of those times, so the
        idle entries are exactly a prefix; the check costs one call when nothing is idle.
        """
        dropped = 0
        with self._lock:
            while self._items:
                oldest = next(iter(self._items))
                if not stale(self._items[oldest]):
                    break
                del self._items[oldest]
                dropped += 1
        return dropped

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def keys(self) -> List[K]:
        """A snapshot of the keys, least recently used first."""
        with self._lock:
            return list(self._items)

    def __iter__(self) -> Iterator[K]:
        return iter(self.keys())

    def __contains__(self, key: object) -> bool:
        with self._lock:
            return key in self._items

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)
