"""Objects alive when a server has started are no longer walked by the collector; garbage
made later still is collected."""

from __future__ import annotations

import gc
import weakref

from roost.core.gc_tuning import YOUNG_THRESHOLD, freeze_startup_objects


class _Node:
    def __init__(self) -> None:
        self.me = self  # a cycle: only the collector can free it


def test_startup_objects_are_frozen_and_later_garbage_is_still_collected() -> None:
    kept = [_Node() for _ in range(100)]
    thresholds = gc.get_threshold()
    try:
        freeze_startup_objects()
        assert gc.get_freeze_count() >= len(kept)
        assert gc.get_threshold()[0] == YOUNG_THRESHOLD
        later = _Node()
        gone = weakref.ref(later)
        del later
        gc.collect()
        assert gone() is None
    finally:
        gc.unfreeze()  # leave the test process as it was
        gc.set_threshold(*thresholds)
