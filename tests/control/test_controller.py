"""The controller with a real store and engine: commands, the library, restarts."""

from __future__ import annotations

import sqlite3
import time

import numpy as np
import pytest
from control_support import ACTIONS, TEST_PRESET, Pedal, wait_for

from pedalboard.control.store import Store, StoreError
from pedalboard.presets import factory_presets


def ok(reply: dict) -> dict:
    assert reply["type"] in ("ack", "state"), reply
    return reply.get("result", reply)


def test_empty_library_is_seeded_with_the_factory_bank(data_dir) -> None:
    pedal = Pedal(data_dir)
    try:
        c = pedal.controller
        factory = list(factory_presets())
        assert list(c.library.presets) == factory
        banks = ok(c.call("list_banks"))["banks"]
        assert banks == [{"id": "factory", "name": "Factory", "presets": factory}]
        assert c.preset_id == factory[0]
    finally:
        pedal.close()


def test_snapshots_reach_the_engine_and_the_state(pedal) -> None:
    c, engine = pedal.controller, pedal.engine
    ok(c.call("select_snapshot", index=0))
    wait_for(lambda: engine.chain.effect("boost").get_param("gain_db") == 6.0, what="snapshot")
    wait_for(lambda: engine.chain.slot("level").bypass, what="bypass")
    state = c.state()
    assert state["snapshot"] == 0
    assert state["chain"][0]["params"]["gain_db"] == 6.0 and state["chain"][1]["bypass"] is True
    ok(c.call("press", switch="fs3"))  # "snapshot:1" counts from 1
    assert c.snapshot == 0


def test_live_edits_dirty_save_and_revert(pedal) -> None:
    c = pedal.controller
    ok(c.call("set_param", slot="boost", param="gain_db", value=3.0))
    assert c.state()["dirty"] is True
    ok(c.call("revert"))
    assert c.state()["dirty"] is False
    assert c.state()["chain"][0]["params"]["gain_db"] == 0.0
    ok(c.call("set_param", slot="boost", param="gain_db", value=-3.0))
    ok(c.call("save_current"))
    assert ok(c.call("get_preset", id="test"))["preset"]["chain"][0]["params"]["gain_db"] == -3.0
    assert c.state()["dirty"] is False


def test_next_prev_banks_and_setlists(pedal) -> None:
    c = pedal.controller
    ok(c.call("save_bank", bank={"id": "gig", "name": "Gig", "presets": ["test", "second"]}))
    ok(c.call("select_bank", bank="gig"))
    assert c.state()["presets"] == [{"id": "test", "name": "Test"}, {"id": "second", "name": "Second"}]
    assert ok(c.call("next_preset"))["preset"] == "second"
    assert ok(c.call("next_preset"))["preset"] == "test"  # wraps around
    assert ok(c.call("prev_preset"))["preset"] == "second"
    ok(c.call("save_setlist", setlist={"id": "tonight", "name": "Tonight", "presets": ["second"]}))
    ok(c.call("select_bank", bank="tonight"))
    assert [p["id"] for p in c.state()["presets"]] == ["second"]
    assert ok(c.call("bank_up"))["bank"] in ("factory", "gig")
    error = c.call("save_bank", bank={"id": "bad", "name": "Bad", "presets": ["nope"]})
    assert error["code"] == "not_found" and "bank.presets.0" in error["message"]


def test_chain_editing(pedal) -> None:
    c, engine = pedal.controller, pedal.engine
    result = ok(c.call("add_effect", effect="gain", params={"gain_db": -20.0}, index=1, id="pad"))
    assert result == {"slot": "pad", "index": 1}
    wait_for(lambda: [s.id for s in engine.chain.slots] == ["boost", "pad", "level"], what="chain")
    ok(c.call("move_effect", slot="pad", index=0))
    assert [s["id"] for s in c.state()["chain"]] == ["pad", "boost", "level"]
    ok(c.call("remove_effect", slot="boost"))
    assert [s["id"] for s in c.state()["chain"]] == ["pad", "level"]
    assert "boost" not in str(c.live.snapshots)  # snapshots forget the removed slot
    assert c.state()["dirty"] is True


def test_library_export_import_and_delete(pedal) -> None:
    c = pedal.controller
    library = ok(c.call("export_library"))
    assert {p["id"] for p in library["presets"]} >= {"test", "second"}
    ok(c.call("delete_preset", id="second"))
    assert "second" not in c.library.presets
    ok(c.call("import_library", library={"presets": [p for p in library["presets"] if p["id"] == "second"],
                                         "banks": [], "setlists": []}, replace=False))
    assert "second" in c.library.presets
    ok(c.call("import_library", library={"presets": [TEST_PRESET], "banks": [
        {"id": "only", "name": "Only", "presets": ["test"]}]}, replace=True))
    assert list(c.library.presets) == ["test"] and list(c.library.banks) == ["only"]


def test_footswitch_press_actions(pedal) -> None:
    c, engine = pedal.controller, pedal.engine
    ok(c.call("press", switch="fs1"))
    wait_for(lambda: engine.chain.slot("boost").bypass, what="toggle")
    ok(c.call("press", switch="fs1", long=True))
    assert c.tuner_on
    ok(c.call("press", switch="fs2"))
    assert c.preset_id == "second"


def test_midi_maps_validated_and_scaled_through_the_taper(pedal) -> None:
    c = pedal.controller
    mapping = ok(c.call("midi_map", cc=7, channel=1, slot="boost", param="gain_db", min=-24.0, max=12.0))
    assert mapping["min"] == -24.0
    assert c.call("midi_map", cc=7, slot="boost", param="gain_db", max=99.0)["code"] == "bad_request"
    assert c.call("midi_map", cc=7, slot="nope", param="gain_db")["code"] == "not_found"
    ok(c.midi_control(1, 7, 127))
    assert c.state()["chain"][0]["params"]["gain_db"] == pytest.approx(12.0)
    ok(c.midi_control(1, 7, 0))
    assert c.state()["chain"][0]["params"]["gain_db"] == pytest.approx(-24.0)
    assert c.midi_control(2, 7, 0) is None  # another channel: not mapped
    ok(c.call("midi_unmap", cc=7, channel=1))
    assert ok(c.call("list_midi_maps"))["maps"] == []


def test_state_survives_a_restart(data_dir) -> None:
    pedal = Pedal(data_dir)
    c = pedal.controller
    ok(c.call("save_preset", "ctl", preset=TEST_PRESET))
    ok(c.call("select_preset", "ctl", preset="test"))
    ok(c.call("set_param", "ctl", slot="boost", param="gain_db", value=7.5))
    ok(c.call("toggle", "ctl", slot="level"))
    ok(c.call("set_tempo", "ctl", bpm=133.0))
    ok(c.call("midi_map", "ctl", cc=20, slot="boost", param="gain_db"))
    revision = c.revision
    pedal.close()

    pedal = Pedal(data_dir)
    try:
        c = pedal.controller
        assert c.revision == revision and c.preset_id == "test"
        state = c.state()
        assert state["chain"][0]["params"]["gain_db"] == 7.5
        assert state["chain"][1]["bypass"] is True
        assert state["tempo_bpm"] == 133.0 and state["dirty"] is True
        assert [m["cc"] for m in ok(c.call("list_midi_maps"))["maps"]] == [20]
        # The engine plays the restored edits.
        assert pedal.engine.chain.effect("boost").get_param("gain_db") == 7.5
        assert pedal.engine.chain.slot("level").bypass
    finally:
        pedal.close()


def test_one_pedal_per_data_dir(pedal) -> None:
    with pytest.raises(StoreError, match="another pedal is already running"):
        Store(pedal.data_dir)


def test_store_coalesces_a_knob_sweep_and_acks_after_commit(data_dir) -> None:
    store = Store(data_dir, flush_interval_s=0.2)
    try:
        tickets = [store.set("live", {"value": i}) for i in range(500)]
        assert store.wait(tickets[-1])
        reader = sqlite3.connect(data_dir / "pedal.db")
        assert reader.execute("SELECT data FROM kv WHERE key='live'").fetchone()[0] == '{"value":499}'
        assert reader.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        reader.close()
    finally:
        store.close()


def test_audio_reflects_a_parameter_change(pedal) -> None:
    """The virtual engine's output, relative to its input, follows ``boost.gain_db``
    (the chain is boost then level -6 dB: -46 dB in all, then -6 dB)."""
    c, engine = pedal.controller, pedal.engine

    def gain_db() -> float:
        time.sleep(0.25)  # glides settle; 0.2 s windows of demo guitar
        x = engine.input_snapshot(9600).astype(np.float64)
        y = engine.output_snapshot(9600)[0].astype(np.float64)
        return 10 * np.log10(np.sum(y**2) / np.sum(x**2))

    ok(c.call("set_param", slot="boost", param="gain_db", value=-40.0))
    assert gain_db() == pytest.approx(-46.0, abs=3.0)
    ok(c.call("set_param", slot="boost", param="gain_db", value=0.0))
    assert gain_db() == pytest.approx(-6.0, abs=3.0)


@pytest.mark.parametrize("switch", sorted(ACTIONS))
def test_every_test_action_is_valid(pedal, switch) -> None:
    assert pedal.controller.call("press", switch=switch)["type"] == "ack"
