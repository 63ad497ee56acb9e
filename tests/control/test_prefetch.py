"""Chains built ahead: a preset switch swaps a chain prepared in the background."""

from __future__ import annotations

from control_support import Pedal, wait_for

PRESETS = [{"name": f"P{i}", "id": f"p{i}", "chain": [
    {"id": "boost", "effect": "gain", "params": {"gain_db": -float(i)}},
    {"id": "echo", "effect": "delay", "params": {"delay_seconds": 0.1 * (i + 1)}},
]} for i in range(5)]


def test_neighbours_are_built_ahead_and_used_by_the_switch(data_dir) -> None:
    pedal = Pedal(data_dir, presets=PRESETS)
    try:
        c, engine = pedal.controller, pedal.engine
        cache = c.prefetch
        assert cache is not None
        wait_for(cache.idle, what="the background builds")
        assert sorted(cache.ready()) == ["p1", "p2", "p3", "p4"]  # everything but the current preset
        ready = cache._ready["p1"][1]
        hits, misses = cache.hits, cache.misses
        assert c.call("next_preset", "ctl")["result"]["preset"] == "p1"
        assert engine.chain is ready and c.chain is ready  # the very chain built ahead
        assert engine.chain.effect("boost").get_param("gain_db") == -1.0
        wait_for(cache.idle, what="the background builds")
        assert sorted(cache.ready()) == ["p0", "p2", "p3", "p4"]
        assert (cache.hits, cache.misses) == (hits + 1, misses)

        # A preset changed since it was built ahead is built afresh, with its new data.
        edited = {**PRESETS[2], "chain": [{"id": "boost", "effect": "gain", "params": {"gain_db": -20.0}}]}
        assert c.call("save_preset", "ctl", preset=edited)["type"] == "ack"
        assert c.call("next_preset", "ctl")["result"]["preset"] == "p2"
        assert (cache.hits, cache.misses) == (hits + 1, misses + 1)
        wait_for(lambda: engine.chain.effect("boost").get_param("gain_db") == -20.0, what="the edit")
        assert [slot.id for slot in engine.chain.slots] == ["boost"]

        # A bank narrows what is kept ready.
        ok = c.call("save_bank", "ctl", bank={"id": "duo", "name": "Duo", "presets": ["p2", "p4"]})
        assert ok["type"] == "ack"
        assert c.call("select_bank", "ctl", bank="duo")["type"] == "ack"
        wait_for(cache.idle, what="the background builds")
        assert cache.ready() == ["p4"]
    finally:
        pedal.close()


def test_a_switch_plays_before_the_bookkeeping_runs(data_dir) -> None:
    """Saving the state and building the next chains hold the GIL in
    stretches; they start only once the audio has played the block that
    applies the switch, so they cannot delay it."""
    pedal = Pedal(data_dir, presets=PRESETS)
    try:
        c, engine = pedal.controller, pedal.engine
        wait_for(c.prefetch.idle, what="the background builds")
        seen: list[tuple[str, bool]] = []
        store_set, want = c.store.set, c.prefetch.want

        def caught_up() -> bool:  # every command applied, and its block played out
            stamp = engine.applied_at(engine.applied)
            return (engine.applied == engine._queue.submitted and stamp is not None
                    and engine.status()["blocks"] > stamp[1])

        def spy_set(*args, **kwargs):
            seen.append(("store", caught_up()))
            return store_set(*args, **kwargs)

        def spy_want(*args, **kwargs):
            seen.append(("prefetch", caught_up()))
            return want(*args, **kwargs)

        c.store.set, c.prefetch.want = spy_set, spy_want
        for _ in range(5):
            submitted = engine._queue.submitted
            assert c.gesture("fs2", "press")["type"] == "ack"  # preset:next
            assert engine._queue.submitted > submitted  # the switch went to the audio
        assert seen == [("store", True), ("prefetch", True)] * 5
    finally:
        pedal.close()


def test_chains_built_ahead_are_built_in_the_gaps_of_the_audio(data_dir) -> None:
    """Each slot is built and prepared just after a block ends, so the
    builder's GIL holds fall between callbacks."""
    pedal = Pedal(data_dir, presets=PRESETS)
    try:
        c, engine = pedal.controller, pedal.engine
        wait_for(c.prefetch.idle, what="the background builds")
        blocks = engine.status()["blocks"]
        engine.after_block()
        assert engine.status()["blocks"] > blocks  # it waited for a block to end

        gaps: list[int] = []
        after_block = engine.after_block

        def spy() -> None:
            after_block()
            gaps.append(engine.status()["blocks"])

        engine.after_block = spy
        assert c.call("next_preset", "ctl")["type"] == "ack"
        wait_for(c.prefetch.idle, what="the background builds")
        # the new neighbour (p0 or p2 rebuilt): two slots built, two prepared, one warm-up
        assert len(gaps) >= 5
        assert gaps == sorted(gaps)
    finally:
        pedal.close()
