import gc

from shared.long_lived import freeze_loaded


class Node:
    def __init__(self):
        self.me = self  # a cycle: only the collector frees it


def test_what_start_up_loaded_is_frozen_and_what_comes_later_is_still_collected():
    gc.unfreeze()
    try:
        loaded = [Node() for _ in range(1000)]
        frozen = freeze_loaded("test")
        assert frozen == gc.get_freeze_count() >= 1000
        assert not any(node in gc.get_objects() for node in loaded[:3])  # out of every generation
        later = Node()
        del later
        assert gc.collect() >= 1  # the cycle made after the freeze is found and freed
    finally:
        gc.unfreeze()
