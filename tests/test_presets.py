"""Presets: schema, ids, factory presets, snapshots and clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from pedalboard.errors import PresetError
from pedalboard.presets import (
    apply_snapshot,
    build_chain,
    factory_presets,
    load_preset,
    parse_preset,
    preset_from_chain,
    read_preset,
    write_preset_file,
)
from pedalboard.signals import guitar_riff

SR = 48000


def test_factory_presets_load_build_and_play() -> None:
    presets = factory_presets()
    assert len(presets) >= 8
    assert {"clean", "crunch", "lead", "fuzz", "ambient"} <= set(presets)
    x = 0.5 * guitar_riff(0.5, SR)
    for preset_id, preset in presets.items():
        assert preset_id == preset.id and preset_id.islower()
        out = build_chain(preset).process(x, SR)
        assert np.all(np.isfinite(out)), preset_id
        assert 0.01 < np.max(np.abs(out)) < 4.0, f"{preset_id}: level {np.max(np.abs(out))}"


def test_ids_default_to_effect_names() -> None:
    preset = parse_preset(
        {
            "name": "Two Delays",
            "chain": [
                {"effect": "gain"},
                {"effect": "gain", "id": "boost"},
                {"effect": "gain"},
                {"parallel": [[{"effect": "gain"}], []]},
            ],
        }
    )
    ids = [n.id for n in preset.chain]
    assert ids == ["gain", "boost", "gain-2", "parallel"]
    assert preset.chain[3].parallel[0][0].id == "gain-3"
    assert preset.id == "two-delays"


def test_json_round_trip(tmp_path: Path) -> None:
    preset = read_preset("crunch")
    path = tmp_path / "crunch.json"
    write_preset_file(preset, path)
    assert read_preset(path) == preset
    chain = load_preset(path)
    again = preset_from_chain(chain, preset.name)
    assert [n.id for n in again.chain] == [n.id for n in preset.chain]


def test_snapshot_applies_params_and_bypass() -> None:
    preset = parse_preset(
        {
            "name": "S",
            "chain": [{"effect": "gain", "params": {"gain_db": 0}}],
            "snapshots": [{"name": "quiet", "params": {"gain.gain_db": -20}, "bypass": {"gain": False}}],
        }
    )
    chain = build_chain(preset)
    apply_snapshot(chain, preset.snapshots[0])
    assert chain.effect("gain").gain_db == -20


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"name": "x", "chain": [{"effect": "warp_drive"}]}, "unknown effect 'warp_drive'"),
        (
            {"name": "x", "chain": [{"effect": "gain", "params": {"gain_db": 100}}]},
            "slot 'gain': gain: gain_db = 100.0 is not allowed: [-60, 24] dB",
        ),
        ({"name": "x", "chain": [{"effect": "gain", "params": {"volume": 1}}]}, "no parameter 'volume'"),
        (
            {"name": "x", "chain": [{"effect": "gain", "id": "a"}, {"effect": "gain", "id": "a"}]},
            "slot id 'a' is used twice",
        ),
        ({"name": "", "chain": []}, "name: String should have at least 1 character"),
        ({"name": "x", "chain": [{"effect": "gain", "id": "Not OK"}]}, "chain.0.id"),
        ({"name": "x", "chain": [{"parallel": [[{"effect": "gain"}]]}]}, "chain.0.parallel"),
        ({"name": "x", "snapshots": [{"name": "s", "params": {"ghost.mix": 1}}]}, "'ghost.mix'"),
        ({"name": "x", "chain": [{"effect": "gain"}] * 40}, "chain"),
        ({"name": "x", "tempo_bpm": 1000}, "tempo_bpm"),
        (
            {"name": "x", "chain": [{"effect": "circuit", "params": {"netlist": "ts808", "drive": 2}}]},
            "slot 'circuit': circuit ts808: drive = 2.0 is not allowed: [0, 1]",
        ),
        (
            {"name": "x", "chain": [{"effect": "circuit", "params": {"netlist": "ts808", "fuzz": 1}}]},
            "circuit ts808: no parameter 'fuzz' (parameters: oversample, drive, tone, level)",
        ),
        (
            {"name": "x", "chain": [{"effect": "circuit", "params": {"oversample": 3}}]},
            "oversample = 3.0 is not allowed: one of 1, 2, 4, 8, 16",
        ),
        ({"name": "x", "chain": [{"effect": "circuit", "params": {"netlist": "no_such"}}]}, "no_such"),
    ],
)
def test_bad_presets_are_named(data: dict, message: str) -> None:
    with pytest.raises(PresetError) as error:
        parse_preset(data)
    assert message in str(error.value)


def test_bad_files(tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text('{"name": "x", "chain": [}')
    with pytest.raises(PresetError, match=r"broken.json: not valid JSON at line 1"):
        read_preset(broken)
    with pytest.raises(PresetError, match="preset file not found"):
        read_preset(tmp_path / "absent.json")
    (tmp_path / "list.json").write_text(json.dumps([1, 2]))
    with pytest.raises(PresetError, match=r"list\.json"):
        read_preset(tmp_path / "list.json")


def test_a_circuit_slot_takes_its_netlists_controls_and_a_numeric_oversample() -> None:
    """The README's form: the netlist's controls are the slot's parameters."""
    preset = parse_preset({"name": "Fuzz", "chain": [
        {"effect": "circuit", "params": {"netlist": "fuzz_face_si", "fuzz": 0.8, "oversample": 2}}]})
    effect = build_chain(preset).effect("circuit")
    assert effect.fuzz == pytest.approx(0.8) and effect.oversample == "2"
    circuit = read_preset("screamer").chain[1]
    assert circuit.effect == "circuit" and circuit.params["netlist"] == "ts808"
