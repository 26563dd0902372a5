"""Objects loaded at start-up, moved out of the garbage collector's reach.

Why: a full (generation 2) collection walks every long-lived object. In our servers most of
them are what start-up loaded and keeps for the life of the process: the Rasa model (about
520,000 objects, 380 ms of CPU per full collection), the action server's modules and routing
tables (200,000, 120 ms), the gateway's (about 80,000 more). Conversations that keep growing
trigger a full collection every few hundred turns, and every request in flight waits for it.
``gc.freeze()`` after start-up takes those objects out of every later collection (issue 18);
what is created afterwards is collected as before.
"""
from __future__ import annotations

import gc
import logging

log = logging.getLogger(__name__)


def freeze_loaded(what: str) -> int:
    """Collect once, then freeze everything alive now; returns how many objects are frozen.

    Call it once the process has loaded what it keeps (model, modules, tables), before serving.
    """
    gc.collect()
    gc.freeze()
    frozen = gc.get_freeze_count()
    log.info("%s loaded: %d objects frozen out of garbage collection", what, frozen)
    return frozen
