"""The live footswitch mapping over the control socket: listed, assigned,
refused without a change, broadcast to every client, and kept in the store
across a restart (pedal.toml's [actions] is only the starting point)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from control_support import ACTIONS, SECOND_PRESET, TEST_PRESET, Client, Pedal

from pedalboard.control.footswitch_map import FootswitchMap


def rows(client: Client) -> dict[str, dict]:
    reply = client.request("list_footswitches")
    assert reply["type"] == "ack"
    return {row["name"]: row for row in reply["result"]["footswitches"]}


def test_the_list_names_every_switch_gesture_and_its_wiring(pedal: Pedal,
                                                           connect: Callable[[], Client]) -> None:
    listed = rows(connect())
    assert list(listed) == ["fs1", "fs2", "fs3", "fs4"]
    assert listed["fs1"] == {"name": "fs1", "press": "toggle:boost", "long": "tuner", "double": None,
                             "repeat": None, "line": None, "led_line": None, "key": None,
                             "config": {"press": "toggle:boost", "long": "tuner"}}


def test_an_assignment_runs_at_the_next_press_and_reaches_every_client(
        pedal: Pedal, connect: Callable[[], Client]) -> None:
    phone, other = connect(), connect()
    before = pedal.controller.revision
    reply = phone.request("set_footswitch_action", switch="fs1", gesture="press", action="preset:next")
    assert reply["type"] == "ack" and reply["revision"] == before + 1
    assert reply["result"] == {"switch": "fs1", "gesture": "press", "action": "preset:next"}
    event = next(m for m in iter(other.read, None) if m["type"] == "event")
    assert event["event"] == "footswitches_changed" and event["revision"] == reply["revision"]
    assert event["data"]["switch"] == "fs1" and event["data"]["action"] == "preset:next"
    assert {r["name"]: r["press"] for r in event["data"]["footswitches"]}["fs1"] == "preset:next"

    pressed = phone.request("press", switch="fs1")
    assert pressed["result"]["action"] == "preset:next"
    assert pedal.controller.preset_id == "second"
    assert rows(other)["fs1"]["config"]["press"] == "toggle:boost"  # pedal.toml is unchanged


def test_null_maps_nothing_and_an_unchanged_assignment_is_no_change(
        pedal: Pedal, connect: Callable[[], Client]) -> None:
    client = connect()
    assert client.request("set_footswitch_action", switch="fs1", gesture="long",
                          action=None)["type"] == "ack"
    assert rows(client)["fs1"]["long"] is None
    assert client.request("press", switch="fs1", long=True)["result"]["action"] is None
    assert pedal.controller.tuner_on is False
    revision = pedal.controller.revision
    again = client.request("set_footswitch_action", switch="fs1", gesture="long", action=None)
    assert again["type"] == "ack" and again["revision"] == revision


@pytest.mark.parametrize(("args", "code", "words"), [
    ({"switch": "fs9", "gesture": "press", "action": "tap"}, "not_found", ["switch", "fs9", "fs1"]),
    ({"switch": "fs1", "gesture": "hold", "action": "tap"}, "bad_request", ["args.gesture", "long"]),
    ({"switch": "fs1", "gesture": "press", "action": "explode"}, "bad_request",
     ["action", "explode", "toggle:SLOT"]),
    ({"switch": "fs1", "gesture": "press", "action": "snapshot:9"}, "bad_request", ["action"]),
    ({"switch": "fs1", "gesture": "press", "action": ""}, "bad_request", ["args.action"]),
    ({"switch": "fs1", "gesture": "press", "action": 3}, "bad_request", ["args.action"]),
    ({"switch": "fs1", "gesture": "press"}, "bad_request", ["args.action", "missing"]),
    ({"switch": "fs1", "gesture": "press", "action": "tap", "x": 1}, "bad_request", ["args.x"]),
])
def test_bad_assignments_name_the_field_and_change_nothing(
        pedal: Pedal, connect: Callable[[], Client], args: dict, code: str, words: list[str]) -> None:
    client = connect()
    before, revision = rows(client), pedal.controller.revision
    reply = client.request("set_footswitch_action", **args)
    assert reply["type"] == "error" and reply["code"] == code, reply
    for word in words:
        assert word in reply["message"], reply["message"]
    assert rows(client) == before and pedal.controller.revision == revision


def test_the_mapping_survives_a_restart_and_pedal_toml_stays_the_base(data_dir: Path) -> None:
    pedal = Pedal(data_dir, presets=[TEST_PRESET, SECOND_PRESET])
    client = Client(pedal.server.path)
    client.request("set_footswitch_action", switch="fs2", gesture="double", action="preset:prev")
    client.request("set_footswitch_action", switch="fs3", gesture="press", action=None)
    client.request("set_footswitch_action", switch="fs4", gesture="press", action="tap")  # as the file
    client.close()
    pedal.close()

    pedal = Pedal(data_dir)
    try:
        client = Client(pedal.server.path)
        listed = rows(client)
        assert listed["fs2"]["double"] == "preset:prev" and listed["fs2"]["press"] == "preset:next"
        assert listed["fs3"]["press"] is None and listed["fs3"]["config"] == {"press": "snapshot:1"}
        assert pedal.controller.footswitches.stored() == {"fs2": {"double": "preset:prev"},
                                                          "fs3": {"press": None}}
        client.close()
    finally:
        pedal.close()


def test_stored_overrides_that_no_longer_fit_pedal_toml_are_dropped() -> None:
    mapping = FootswitchMap(ACTIONS)
    mapping.load({"fs1": {"press": "tuner", "hold": "tap"}, "gone": {"press": "tap"},
                  "fs2": {"press": "explode", "long": None}, "fs3": "junk"})
    assert mapping.actions["fs1"] == {"press": "tuner", "long": "tuner"}
    assert mapping.actions["fs2"] == {"press": "preset:next"}
    assert "gone" not in mapping.actions
    mapping.assign("fs1", "press", "toggle:boost")  # back to pedal.toml: no override left
    assert "fs1" not in mapping.stored()
