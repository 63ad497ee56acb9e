"""The control socket with real clients: state on connect, broadcasts, invalid
input, stalled clients, and every message against the published JSON Schema."""

from __future__ import annotations

import json
import socket
import threading
from pathlib import Path

import jsonschema
import pytest
from control_support import wait_for

from pedalboard.protocol import MAX_LINE_BYTES, json_schema

SCHEMA = json_schema()
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)
COMMAND = jsonschema.Draft202012Validator({**SCHEMA, "oneOf": [{"$ref": "#/$defs/Command"}]})
SERVER = jsonschema.Draft202012Validator({**SCHEMA, "oneOf": [{"$ref": "#/$defs/ServerMessage"}]})


def check_traffic(client) -> None:
    """Every command the controller accepted matches the published schema, and so
    does every message it sent."""
    for message, reply in client.exchanges:
        if reply["type"] != "error":
            COMMAND.validate(message)
        elif reply["message"].startswith(("cmd:", "v:", "message:")) or "args." in reply["message"]:
            assert not COMMAND.is_valid(message), message  # the schema rejects it too
    for message in client.received:
        SERVER.validate(message)


def test_schema_file_is_current() -> None:
    path = Path(__file__).parents[2] / "docs" / "protocol.schema.json"
    assert json.loads(path.read_text()) == json.loads(json.dumps(SCHEMA)), \
        "docs/protocol.schema.json is stale: run python -m pedalboard.protocol"
    jsonschema.Draft202012Validator.check_schema(SCHEMA)


def test_state_on_connect_and_events_to_every_client(pedal, connect) -> None:
    a, b = connect(), connect()
    assert a.initial["type"] == "state"
    state = a.initial["state"]
    assert state["preset"] == "test"
    assert [slot["id"] for slot in state["chain"]] == ["boost", "level"]
    assert state["chain"][1]["params"]["gain_db"] == -6.0
    assert state["snapshots"] == ["Loud", "Quiet"]
    revision = a.initial["revision"]

    reply = a.request("set_param", slot="boost", param="gain_db", value=4.5)
    assert reply["type"] == "ack" and reply["revision"] == revision + 1
    event = b.read()
    assert event["type"] == "event" and event["event"] == "param_changed"
    assert event["data"] == {"slot": "boost", "param": "gain_db", "value": 4.5}
    assert event["revision"] == revision + 1 and event["source"] == "api"
    wait_for(lambda: pedal.engine.chain.effect("boost").get_param("gain_db") == 4.5, what="engine")

    reply = b.request("toggle", slot="level")
    assert reply["result"] == {"slot": "level", "value": True}
    assert reply["revision"] == revision + 2
    assert b.request("get_state")["state"]["chain"][1]["bypass"] is True
    for client in (a, b):
        COMMAND.validate({"v": 1, "id": "x", "cmd": "set_param",
                          "args": {"slot": "boost", "param": "gain_db", "value": 4.5}})
        check_traffic(client)


BAD = [
    ({"v": 1, "id": "1", "cmd": "explode", "args": {}}, "bad_request", "cmd: unknown command 'explode'"),
    ({"v": 2, "id": "2", "cmd": "ping", "args": {}}, "bad_request", "v:"),
    ({"v": 1, "id": "3", "cmd": "set_param", "args": {"slot": 7, "param": "gain_db", "value": 1}},
     "bad_request", "args.slot"),
    ({"v": 1, "id": "4", "cmd": "set_param", "args": {"slot": "boost", "param": "gain_db", "value": None}},
     "bad_request", "args.value"),
    ({"v": 1, "id": "5", "cmd": "set_param", "args": {"slot": "boost", "param": "gain_db", "value": 99}},
     "bad_request", "gain_db = 99.0 is not allowed: [-60, 24] dB"),
    ({"v": 1, "id": "6", "cmd": "set_param", "args": {"slot": "boost", "param": "gain_db", "value": "loud"}},
     "bad_request", "gain_db = 'loud'"),
    ({"v": 1, "id": "7", "cmd": "set_param", "args": {"slot": "nope", "param": "gain_db", "value": 1}},
     "not_found", "slot: no slot 'nope'"),
    ({"v": 1, "id": "8", "cmd": "set_param", "args": {"slot": "boost", "param": "fuzz", "value": 1}},
     "not_found", "param: boost (gain) has no parameter 'fuzz'"),
    ({"v": 1, "id": "9", "cmd": "set_param", "args": {"slot": "boost", "param": "gain_db"}},
     "bad_request", "args.value: required field is missing"),
    ({"v": 1, "id": "10", "cmd": "toggle", "args": {"slot": "boost", "extra": 1}},
     "bad_request", "args.extra: unknown field"),
    ({"v": 1, "id": "11", "cmd": "set_tempo", "args": {"bpm": 900}}, "bad_request", "args.bpm"),
    ({"v": 1, "id": "12", "cmd": "select_preset", "args": {"preset": "missing"}},
     "not_found", "preset: no preset 'missing'"),
    ({"v": 1, "id": "13", "cmd": "select_snapshot", "args": {"index": 5}}, "not_found", "index:"),
    ({"v": 1, "id": "14", "cmd": "press", "args": {"switch": "fs9"}}, "not_found", "switch:"),
    ({"v": 1, "id": "15", "cmd": "delete_preset", "args": {"id": "test"}}, "conflict", "is playing"),
    ({"v": 1, "id": "16", "cmd": "save_preset", "args": {"preset": {"name": "X", "chain": [
        {"effect": "gain", "params": {"gain_db": 50}}]}}}, "bad_request", "gain_db = 50"),
    ({"v": 1, "id": "17", "cmd": "midi_map", "args": {"cc": 200, "slot": "boost", "param": "gain_db"}},
     "bad_request", "args.cc"),
    ({"v": 1, "id": "18", "cmd": "add_effect", "args": {"effect": "warp_drive"}},
     "bad_request", "unknown effect 'warp_drive'"),
    ([1, 2, 3], "bad_request", "message: expected a JSON object"),
]


@pytest.mark.parametrize(("message", "code", "text"), BAD, ids=[str(i) for i in range(len(BAD))])
def test_invalid_commands_name_the_field_and_change_nothing(pedal, connect, message, code, text) -> None:
    client = connect()
    before = client.request("get_state")
    engine_before = pedal.engine.chain.to_list()
    reply = client.send(message)
    assert reply["type"] == "error", reply
    assert reply["code"] == code
    assert text in reply["message"], reply["message"]
    assert "\n" not in reply["message"]
    if isinstance(message, dict):
        assert reply["id"] == message["id"]
    after = client.request("get_state")
    assert after["revision"] == before["revision"]
    assert after["state"] == before["state"]
    assert pedal.engine.chain.to_list() == engine_before
    check_traffic(client)


def test_oversized_and_garbled_lines(pedal, connect) -> None:
    client = connect()
    revision = client.request("get_state")["revision"]
    huge = json.dumps({"v": 1, "id": "big", "cmd": "save_preset",
                       "args": {"preset": {"name": "x" * (MAX_LINE_BYTES + 10)}}})
    client.send_raw(huge.encode() + b"\n")
    reply = client.reply(None)
    assert reply["code"] == "bad_request"
    assert reply["message"].startswith("message: line longer than 262144 bytes")
    client.send_raw(b"{not json\n")
    reply = client.reply(None)
    assert reply["message"].startswith("message: not valid JSON at column 2")
    # The connection still works, and nothing changed.
    assert client.request("ping")["type"] == "ack"
    assert client.request("get_state")["revision"] == revision
    check_traffic(client)


def test_a_stalled_client_is_dropped_and_others_get_everything(pedal, connect) -> None:
    reader = connect()
    stalled = connect()  # never reads again
    stalled.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    start = reader.initial["revision"]
    count = 4000
    revisions: list[int] = []

    def read_events() -> None:
        while len(revisions) < count:
            message = reader.read()
            if message["type"] == "event":
                revisions.append(message["revision"])

    thread = threading.Thread(target=read_events, daemon=True)
    thread.start()
    for i in range(count):
        reply = pedal.controller.call("set_param", "midi", slot="boost", param="gain_db",
                                      value=-30.0 + (i % 50))
        assert reply["type"] == "ack"
        if i % 100 == 99:  # a fast knob sweep, but one a live reader keeps up with
            wait_for(lambda i=i: len(revisions) > i - 300, what="the reader")
    wait_for(lambda: pedal.server.client_count == 1, what="the stalled client to be dropped")
    thread.join(timeout=20.0)
    assert revisions == list(range(start + 1, start + count + 1))  # none lost, none reordered
    assert reader.request("ping")["type"] == "ack"


def test_subscribers_get_meters(pedal, connect) -> None:
    client = connect()
    client.request("subscribe", meters=True, tuner=False)
    for _ in range(100):
        message = client.read()
        if message["type"] == "meters":
            break
    else:
        raise AssertionError("no meters message")
    assert set(message["data"]) == {"input_peak_db", "output_peak_db", "dsp_load_p50", "dsp_load_p99",
                                    "xruns"}
    SERVER.validate(message)
