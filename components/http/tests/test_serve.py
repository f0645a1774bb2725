"""Serving: what run_component sets up around an app once it listens."""

from __future__ import annotations

import gc

from micro_http.serve import GC_YOUNG, steady_gc


def test_once_serving_the_startup_is_frozen_out_of_gc_and_the_young_generation_is_large():
    threshold = gc.get_threshold()
    try:
        steady_gc()
        assert gc.get_freeze_count() > 0
        assert gc.get_threshold() == (GC_YOUNG, *threshold[1:])
    finally:
        gc.unfreeze()
        gc.set_threshold(*threshold)
