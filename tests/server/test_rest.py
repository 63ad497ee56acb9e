"""REST routes against a real pedal: each change is checked in the engine's
controller over the local socket, each refusal names the field and leaves
the state alone."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
import websockets
from server_support import PedalProcess, ServerProcess, short_tmpdir, slot_of

from pedalboard.effects.registry import effect_names
from pedalboard.server.auth import TokenStore


@pytest.fixture
def api(server: ServerProcess, auth: dict[str, str]) -> httpx.Client:
    with httpx.Client(base_url=f"{server.base_url}/api/v1", headers=auth, timeout=20) as client:
        yield client


@pytest.fixture
def engine(pedal: PedalProcess) -> Any:
    client = pedal.client()
    yield client
    client.close()


def test_parameters_and_bypass_reach_the_engine(api: httpx.Client, engine: Any) -> None:
    reply = api.put("/state/effects/reverb/params/damping", json={"value": 0.7})
    assert reply.status_code == 200 and reply.json()["revision"] > 0
    assert slot_of(engine.state(), "reverb")["params"]["damping"] == pytest.approx(0.7)
    bypassed = not slot_of(engine.state(), "chorus")["bypass"]
    assert api.put("/state/effects/chorus/bypass", json={"value": bypassed}).status_code == 200
    assert slot_of(engine.state(), "chorus")["bypass"] is bypassed
    assert api.post("/state/effects/chorus/toggle").json()["result"]["value"] is (not bypassed)
    assert slot_of(engine.state(), "chorus")["bypass"] is (not bypassed)


@pytest.mark.parametrize(("method", "path", "body", "status", "words"), [
    ("PUT", "/state/effects/reverb/params/damping", {"value": 7.0}, 400, ["damping", "[0, 1]"]),
    ("PUT", "/state/effects/reverb/params/damping", {"value": "wet"}, 400, ["damping"]),
    ("PUT", "/state/effects/reverb/params/loudness", {"value": 0.5}, 404, ["loudness"]),
    ("PUT", "/state/effects/ghost/params/damping", {"value": 0.5}, 404, ["ghost"]),
    ("PUT", "/state/effects/reverb/params/damping", {}, 422, ["body.value"]),
    ("PUT", "/state/effects/reverb/params/damping", {"value": 0.5, "x": 1}, 422, ["body.x"]),
    ("PUT", "/state/effects/Reverb!/params/damping", {"value": 0.5}, 422, ["path.slot_id"]),
    ("PUT", "/state/tempo", {"bpm": 1000}, 422, ["body.bpm"]),
    ("PUT", "/state/snapshot", {"index": 9}, 422, ["body.index"]),
    ("PUT", "/state/preset", {"preset": "no-such-preset"}, 404, ["no-such-preset"]),
    ("POST", "/state/effects", {"effect": "flanger9000"}, 404, ["flanger9000"]),
    ("POST", "/state/effects", {"effect": "delay", "params": {"mix": 3.0}}, 400, ["mix"]),
    ("POST", "/presets", {"name": "Bad", "chain": [{"effect": "nope"}]}, 400, ["nope"]),
    ("POST", "/presets", {"name": "x" * 65}, 422, ["body.name"]),
    ("POST", "/presets", {"name": "Big", "chain": [{"effect": "gain"}] * 33}, 422, ["body.chain"]),
    ("POST", "/presets", {"name": "Deep", "chain": [
        {"parallel": [[{"parallel": [[{"parallel": [[{"parallel": [[], []]}], []]}], []]}], []]}]},
     422, ["body.chain.0", "nest at most 3 deep"]),
])
def test_refusals_name_the_field_and_change_nothing(
        api: httpx.Client, engine: Any, method: str, path: str, body: dict[str, Any],
        status: int, words: list[str]) -> None:
    before = engine.state()
    reply = api.request(method, path, json=body)
    assert reply.status_code == status, reply.text
    for word in words:
        assert word in reply.json()["message"], reply.json()
    after = engine.state()
    assert after["revision"] == before["revision"]
    assert after["chain"] == before["chain"]


def test_oversized_body_is_refused_before_parsing(api: httpx.Client) -> None:
    reply = api.post("/library", content=b"{" + b" " * (5 * 1024 * 1024) + b"}",
                     headers={"Content-Type": "application/json"})
    assert reply.status_code == 413


def test_add_move_remove_effects(api: httpx.Client, engine: Any) -> None:
    added = api.post("/state/effects", json={"effect": "delay", "id": "echo", "index": 0,
                                             "params": {"mix": 0.25}})
    assert added.status_code == 200, added.text
    chain = engine.state()["chain"]
    assert chain[0]["id"] == "echo" and chain[0]["params"]["mix"] == pytest.approx(0.25)
    assert api.put("/state/effects/echo/index", json={"index": 2}).status_code == 200
    assert [n["id"] for n in engine.state()["chain"]].index("echo") == 2
    assert api.delete("/state/effects/echo").status_code == 200
    assert "echo" not in [n["id"] for n in engine.state()["chain"]]


def test_snapshots_tempo_and_tuner(api: httpx.Client, engine: Any) -> None:
    assert api.put("/state/snapshot", json={"index": 1}).status_code == 200
    assert engine.state()["snapshot"] == 1
    assert api.put("/state/tempo", json={"bpm": 97.5}).status_code == 200
    assert engine.state()["tempo_bpm"] == pytest.approx(97.5)
    assert api.put("/tuner", json={"on": True}).status_code == 200
    assert engine.state()["tuner"] is True
    assert api.get("/tuner").json()["on"] is True
    assert api.put("/tuner", json={"on": False}).status_code == 200
    assert engine.state()["tuner"] is False


def test_presets_library_export_and_import(api: httpx.Client, engine: Any) -> None:
    preset = {"name": "Phone Lead", "chain": [
        {"id": "boost", "effect": "gain", "params": {"gain_db": 6.0}},
        {"effect": "delay", "params": {"mix": 0.3}}]}
    created = api.post("/presets", json=preset)
    assert created.status_code == 200, created.text
    preset_id = created.json()["result"]["id"]
    assert preset_id == "phone-lead"
    exported = api.get(f"/presets/{preset_id}").json()
    assert exported["name"] == "Phone Lead"
    assert preset_id in {p["id"] for p in engine.request("list_presets")["result"]["presets"]}
    exported["name"] = "Phone Lead 2"
    assert api.put("/presets/phone-lead-2", json=exported).status_code == 200
    library = api.get("/library").json()
    assert {"phone-lead", "phone-lead-2"} <= {p["id"] for p in library["presets"]}
    assert api.delete(f"/presets/{preset_id}").status_code == 200
    assert api.get(f"/presets/{preset_id}").status_code == 404
    imported = api.post("/library", json={"library": library, "replace": False})
    assert imported.status_code == 200, imported.text
    assert api.get(f"/presets/{preset_id}").json()["name"] == "Phone Lead"
    assert api.put("/state/preset", json={"preset": preset_id}).status_code == 200
    assert engine.state()["preset"] == preset_id
    assert [n["id"] for n in engine.state()["chain"]] == ["boost", "delay"]
    assert api.put("/state/preset", json={"preset": "clean"}).status_code == 200


def test_nested_parallel_splits_round_trip(api: httpx.Client, engine: Any) -> None:
    """Splits inside splits, as deep as the API allows, are stored as sent."""
    inner = {"id": "inner", "parallel": [[{"id": "drive", "effect": "gain"}], []], "mix": 0.25}
    middle = {"id": "middle", "parallel": [[inner], [{"id": "echo", "effect": "delay"}]]}
    preset = {"name": "Nested Splits", "chain": [{"id": "outer", "parallel": [[middle], []]}]}
    created = api.post("/presets", json=preset)
    assert created.status_code == 200, created.text
    stored = engine.request("get_preset", id="nested-splits")["result"]
    stored = stored.get("preset", stored)
    outer = stored["chain"][0]
    assert outer["id"] == "outer"
    assert outer["parallel"][0][0]["parallel"][0][0]["parallel"][0][0]["id"] == "drive"
    assert outer["parallel"][0][0]["parallel"][0][0]["mix"] == pytest.approx(0.25)
    assert api.delete("/presets/nested-splits").status_code == 200


def test_catalogue_lists_every_effect_and_circuit_controls(api: httpx.Client) -> None:
    effects = {e["effect"]: e for e in api.get("/effects").json()}
    assert set(effects) == set(effect_names())
    for described in effects.values():
        for param in described["params"]:
            assert {"name", "min", "max", "unit", "taper", "kind", "default"} <= set(param)
    circuits = {c["netlist"]: c for c in api.get("/circuits").json()}
    assert "ts808" in circuits
    ts808 = circuits["ts808"]
    assert "Tube Screamer" in ts808["label"]
    names = {p["name"] for p in ts808["params"]}
    assert {"drive", "tone", "level"} <= names


def test_status_meters_and_footswitch_mapping(api: httpx.Client) -> None:
    status = api.get("/status").json()
    assert status["sample_rate"] == 48000 and status["block_size"] == 64
    meters = api.get("/meters").json()
    assert {"input_peak_db", "output_peak_db", "dsp_load_p50", "dsp_load_p99", "xruns"} <= set(meters)
    switches = {fs["name"]: fs for fs in api.get("/footswitches").json()["footswitches"]}
    assert switches["fs1"]["press"] == "toggle:reverb"
    assert switches["fs2"]["press"] == "preset:next"


def test_without_an_engine_rest_is_503_and_phones_are_told() -> None:
    data_dir = short_tmpdir()
    token = TokenStore(data_dir).issue("script")
    server = ServerProcess(data_dir, wait_engine=False)
    try:
        reply = httpx.get(f"{server.base_url}/api/v1/state", timeout=20,
                          headers={"Authorization": f"Bearer {token}"})
        assert reply.status_code == 503
        assert reply.headers["retry-after"] == "1"
        assert "not reachable" in reply.json()["message"]

        async def phone() -> tuple[dict[str, Any], int]:
            async with websockets.connect(f"{server.ws_url}?token={token}") as ws:
                first = json.loads(await ws.recv())
                try:
                    await asyncio.wait_for(ws.recv(), 10)
                except websockets.ConnectionClosed as closed:
                    return first, closed.rcvd.code if closed.rcvd else -1
                return first, 0

        first, code = asyncio.run(phone())
        assert first["type"] == "error" and "not reachable" in first["message"]
        assert code == 1013
    finally:
        server.stop()
