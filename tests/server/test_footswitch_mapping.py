"""Assigning footswitches from the network, against a real pedal: REST and
WebSocket set and list the controller's live mapping, refusals name the field
and change nothing, every client hears the change, the mapping survives a
restart of the pedal, and in Chromium at the phone's size the Setup page
assigns fs1 a new action that a press through the local socket then runs.
Every check of an effect reads the engine's state over the local socket."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import jsonschema
import pytest
import websockets
from browser_support import IMG, PHONE, Watch, assert_fits_the_screen, pair, show_panel
from server_support import PedalProcess, ServerProcess, SocketClient, short_tmpdir

from pedalboard.protocol import json_schema


@pytest.fixture
def engine(pedal: PedalProcess) -> Iterator[SocketClient]:
    client = pedal.client()
    yield client
    client.close()


@pytest.fixture(autouse=True)
def back_to_pedal_toml(pedal: PedalProcess) -> Iterator[None]:
    """Each test starts from pedal.toml's mapping and leaves it so."""
    yield
    client = pedal.client()
    for row in mapping(client).values():
        for gesture in ("press", "long", "double", "repeat"):
            if row[gesture] != row["config"].get(gesture):
                client.request("set_footswitch_action", switch=row["name"], gesture=gesture,
                               action=row["config"].get(gesture))
    client.close()


@pytest.fixture
def api(server: ServerProcess, auth: dict[str, str]) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=f"{server.base_url}/api/v1", headers=auth, timeout=20) as client:
        yield client


def mapping(client: SocketClient) -> dict[str, dict[str, Any]]:
    reply = client.request("list_footswitches")
    assert reply["type"] == "ack", reply
    return {row["name"]: row for row in reply["result"]["footswitches"]}


def eventually(check: Callable[[], Any], what: str, timeout_s: float = 15.0) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


# ------------------------------------------------------------------ REST
def test_rest_lists_and_assigns_and_the_engine_runs_it(api: httpx.Client,
                                                       engine: SocketClient) -> None:
    listed = {row["name"]: row for row in api.get("/footswitches").json()["footswitches"]}
    assert listed["fs1"]["press"] == "toggle:reverb" and listed["fs1"]["long"] is None
    assert listed == mapping(engine)

    reply = api.put("/footswitches/fs4/long", json={"action": "tuner"})
    assert reply.status_code == 200, reply.text
    assert reply.json()["result"] == {"switch": "fs4", "gesture": "long", "action": "tuner"}
    assert reply.json()["revision"] == engine.state()["revision"]
    assert mapping(engine)["fs4"]["long"] == "tuner"
    assert engine.request("press", switch="fs4", long=True)["result"]["action"] == "tuner"
    assert engine.state()["tuner"] is True
    engine.request("tuner", on=False)

    assert api.put("/footswitches/fs3/press", json={"action": None}).status_code == 200
    assert mapping(engine)["fs3"]["press"] is None
    assert engine.request("press", switch="fs3")["result"]["action"] is None


@pytest.mark.parametrize(("path", "body", "status", "words"), [
    ("/footswitches/fs9/press", {"action": "tap"}, 404, ["switch", "fs9", "fs1"]),
    ("/footswitches/fs1/hold", {"action": "tap"}, 422, ["path.gesture"]),
    ("/footswitches/fs1/press", {"action": "explode"}, 400, ["action", "explode", "toggle:SLOT"]),
    ("/footswitches/fs1/press", {"action": "snapshot:0"}, 400, ["action", "snapshot:0"]),
    ("/footswitches/fs1/press", {}, 422, ["body.action"]),
    ("/footswitches/fs1/press", {"action": 5}, 422, ["body.action"]),
    ("/footswitches/fs1/press", {"action": "x" * 65}, 422, ["body.action"]),
    ("/footswitches/fs1/press", {"action": "tap", "x": 1}, 422, ["body.x"]),
    ("/footswitches/f%20s/press", {"action": "tap"}, 422, ["path.switch"]),
])
def test_rest_refusals_name_the_field_and_leave_the_mapping(
        api: httpx.Client, engine: SocketClient, path: str, body: Any, status: int,
        words: list[str]) -> None:
    before, revision = mapping(engine), engine.state()["revision"]
    reply = api.put(path, json=body)
    assert reply.status_code == status, reply.text
    for word in words:
        assert word in reply.json()["message"], reply.json()
    assert mapping(engine) == before and engine.state()["revision"] == revision


def test_rest_needs_pairing(server: ServerProcess) -> None:
    url = f"{server.base_url}/api/v1/footswitches"
    assert httpx.get(url, timeout=10).status_code == 401
    assert httpx.put(f"{url}/fs1/press", json={"action": "tap"}, timeout=10).status_code == 401


# ------------------------------------------------------------------ WebSocket
def test_an_assignment_reaches_a_second_websocket_client(server: ServerProcess, token: str,
                                                         engine: SocketClient) -> None:
    schema = json_schema()
    validators = {name: jsonschema.Draft202012Validator({"$ref": f"#/$defs/{name}",
                                                         "$defs": schema["$defs"]})
                  for name in ("Command", "ServerMessage")}

    async def receive(ws: Any) -> dict[str, Any]:
        message = json.loads(await asyncio.wait_for(ws.recv(), 10))
        validators["ServerMessage"].validate(message)
        return message

    async def scenario() -> tuple[dict[str, Any], dict[str, Any]]:
        url = f"{server.ws_url}?token={token}"
        async with websockets.connect(url) as first, websockets.connect(url) as second:
            assert (await receive(first))["type"] == "state"
            assert (await receive(second))["type"] == "state"
            command = {"v": 1, "id": "m1", "cmd": "set_footswitch_action",
                       "args": {"switch": "fs2", "gesture": "double", "action": "preset:prev"}}
            validators["Command"].validate(command)
            await first.send(json.dumps(command))
            ack = await receive(first)
            while ack.get("id") != "m1":
                ack = await receive(first)
            heard = await receive(second)
            while heard["type"] != "event":
                heard = await receive(second)
            return ack, heard

    ack, heard = asyncio.run(scenario())
    assert ack["type"] == "ack" and ack["result"]["action"] == "preset:prev"
    assert heard["event"] == "footswitches_changed" and heard["revision"] == ack["revision"]
    assert heard["data"]["switch"] == "fs2" and heard["data"]["gesture"] == "double"
    rows = {row["name"]: row for row in heard["data"]["footswitches"]}
    assert rows["fs2"]["double"] == "preset:prev" and rows == mapping(engine)


# ------------------------------------------------------------------ restart
def test_the_mapping_survives_a_restart_of_the_pedal() -> None:
    pedal = PedalProcess(short_tmpdir())
    try:
        client = pedal.client()
        client.request("set_footswitch_action", switch="fs1", gesture="press", action="preset:next")
        client.request("set_footswitch_action", switch="fs4", gesture="press", action=None)
        client.close()
    finally:
        pedal.stop()
    pedal = PedalProcess(pedal.data_dir)
    try:
        client = pedal.client()
        rows = mapping(client)
        assert rows["fs1"]["press"] == "preset:next" and rows["fs4"]["press"] is None
        assert rows["fs1"]["config"]["press"] == "toggle:reverb"  # pedal.toml as written
        preset = client.state()["preset"]
        assert client.request("press", switch="fs1")["result"]["action"] == "preset:next"
        assert client.state()["preset"] != preset
        client.close()
    finally:
        pedal.stop()


# ------------------------------------------------------------------ the phone
def test_the_setup_page_assigns_fs1_and_the_next_press_runs_it(
        browser: Any, server: ServerProcess, pedal: PedalProcess, engine: SocketClient) -> None:
    context = browser.new_context(**PHONE)
    page = context.new_page()
    watch = Watch(page)
    pair(page, server, pedal.pair_code())
    show_panel(page, "setup")
    press = page.get_by_role("combobox", name="Footswitch fs1: press action")
    press.wait_for()
    assert press.input_value() == "toggle:reverb"
    box = press.bounding_box()
    assert box is not None and box["height"] >= 48

    press.select_option("preset:next")
    eventually(lambda: mapping(engine)["fs1"]["press"] == "preset:next", "fs1 mapped in the engine")
    before = engine.state()
    reply = engine.request("press", switch="fs1")
    assert reply["result"]["action"] == "preset:next"
    order = [p["id"] for p in before["presets"]]
    expected = order[(order.index(before["preset"]) + 1) % len(order)]
    assert reply["result"]["preset"] == expected and engine.state()["preset"] == expected

    # A change made elsewhere (here: the socket, as `pedal ctl` would) shows at once.
    engine.request("set_footswitch_action", switch="fs2", gesture="double", action="tuner")
    page.wait_for_selector("#footswitches li[data-switch=fs2] .fs-more summary:has-text('tuner')")
    page.click("#footswitches li[data-switch=fs2] .fs-more summary")
    double = page.get_by_role("combobox", name="Footswitch fs2: double press action")
    assert double.input_value() == "tuner"
    page.get_by_role("combobox", name="Footswitch fs1: long press action").select_option("tap")
    eventually(lambda: mapping(engine)["fs1"]["long"] == "tap", "fs1's hold mapped")
    page.wait_for_selector("button[aria-label='Long-press footswitch fs1']")
    engine.request("select_preset", preset=before["preset"])
    page.wait_for_selector(f"#preset-name:text-is('{before['preset_name']}')")
    assert_fits_the_screen(page, PHONE["viewport"]["width"])
    page.locator("#footswitches").scroll_into_view_if_needed()
    page.screenshot(path=str(IMG / "ui-setup.png"))

    bypass = next(n for n in engine.state()["chain"] if n.get("id") == "reverb")["bypass"]
    page.get_by_role("combobox", name="Footswitch fs1: press action").select_option("toggle:reverb")
    eventually(lambda: mapping(engine)["fs1"]["press"] == "toggle:reverb", "fs1 back to reverb")
    page.click("#footswitches button[aria-label='Press footswitch fs1']")
    eventually(lambda: next(n for n in engine.state()["chain"]
                            if n.get("id") == "reverb")["bypass"] is (not bypass), "Press to toggle")
    assert watch.errors == []
    context.close()
