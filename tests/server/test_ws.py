"""The control WebSocket against a real pedal: state first, events with
revisions, acks and errors by id, bad messages refused without effect, every
message valid under the published JSON Schema, phones kept in sync."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import jsonschema
import pytest
import websockets
from server_support import PedalProcess, ServerProcess, slot_of

from pedalboard.protocol import json_schema
from pedalboard.server.engine_link import LOSSY_LIMIT, QUEUE_SIZE, Subscriber


@pytest.fixture(scope="module")
def validators() -> dict[str, jsonschema.Draft202012Validator]:
    schema = json_schema()
    defs = schema["$defs"]
    return {
        name: jsonschema.Draft202012Validator({"$ref": f"#/$defs/{name}", "$defs": defs})
        for name in ("Command", "ServerMessage")
    }


class Phone:
    """A WebSocket client that records everything and checks it against the schema."""

    def __init__(self, ws: Any, validators: dict[str, Any]) -> None:
        self.ws = ws
        self.validators = validators
        self.messages: list[dict[str, Any]] = []
        self._n = 0

    @classmethod
    async def connect(cls, url: str, validators: dict[str, Any]) -> Phone:
        phone = cls(await websockets.connect(url, max_size=None), validators)
        first = await phone.recv()
        assert first["type"] == "state"
        return phone

    async def recv(self, timeout_s: float = 10.0) -> dict[str, Any]:
        message = json.loads(await asyncio.wait_for(self.ws.recv(), timeout_s))
        self.validators["ServerMessage"].validate(message)
        self.messages.append(message)
        return message

    async def send(self, cmd: str, **args: Any) -> dict[str, Any]:
        self._n += 1
        request_id = f"r{self._n}"
        command = {"v": 1, "id": request_id, "cmd": cmd, "args": args}
        self.validators["Command"].validate(command)
        await self.ws.send(json.dumps(command))
        return await self.reply_to(request_id)

    async def send_raw(self, text: str) -> dict[str, Any]:
        await self.ws.send(text)
        while True:
            message = await self.recv()
            if message["type"] in ("ack", "error"):
                return message

    async def reply_to(self, request_id: str) -> dict[str, Any]:
        while True:
            message = await self.recv()
            if message["type"] in ("ack", "error", "state") and message.get("id") == request_id:
                return message

    async def until_event(self, name: str, timeout_s: float = 10.0) -> dict[str, Any]:
        while True:
            message = await self.recv(timeout_s)
            if message["type"] == "event" and message["event"] == name:
                return message

    async def close(self) -> None:
        await self.ws.close()


def ws_url(server: ServerProcess, token: str) -> str:
    return f"{server.ws_url}?token={token}"


def test_state_then_events_and_acks_all_valid(server: ServerProcess, token: str,
                                              pedal: PedalProcess, validators: Any) -> None:
    async def scenario() -> None:
        phone = await Phone.connect(ws_url(server, token), validators)
        state = phone.messages[0]["state"]
        reverb = slot_of(state, "reverb")
        ack = await phone.send("set_param", slot="reverb", param="room_size", value=0.61)
        assert ack["type"] == "ack" and ack["revision"] > state["revision"]
        event = next(m for m in phone.messages if m["type"] == "event")
        assert event["event"] == "param_changed"
        assert event["data"] == {"slot": "reverb", "param": "room_size", "value": 0.61}
        assert event["revision"] == ack["revision"]
        toggled = await phone.send("toggle", slot="reverb")
        assert toggled["result"]["value"] is (not reverb["bypass"])
        await phone.send("toggle", slot="reverb")
        assert (await phone.send("subscribe", meters=True))["type"] == "ack"
        meters = None
        while meters is None:
            message = await phone.recv()
            meters = message if message["type"] == "meters" else None
        got = await phone.send("get_state")
        assert got["type"] == "state" and got["id"] is not None
        revisions = [m["revision"] for m in phone.messages if m["type"] == "event"]
        assert revisions == sorted(revisions) and len(set(revisions)) == len(revisions)
        await phone.close()

    asyncio.run(scenario())
    client = pedal.client()
    assert slot_of(client.state(), "reverb")["params"]["room_size"] == pytest.approx(0.61)
    client.close()


BAD_MESSAGES = [
    ("not json at all", "message"),
    ("[1, 2, 3]", "message"),
    (json.dumps({"v": 2, "id": "a", "cmd": "toggle", "args": {"slot": "reverb"}}), "v"),
    (json.dumps({"v": 1, "id": "a", "cmd": "explode", "args": {}}), "cmd"),
    (json.dumps({"v": 1, "id": "a", "cmd": "toggle", "args": {"slot": "reverb", "x": 1}}), "x"),
    (json.dumps({"v": 1, "id": "a", "cmd": "set_param",
                 "args": {"slot": "reverb", "param": "room_size", "value": 7.5}}), "room_size"),
    (json.dumps({"v": 1, "id": "a", "cmd": "set_param",
                 "args": {"slot": "reverb", "param": "room_size", "value": "loud"}}), "room_size"),
    (json.dumps({"v": 1, "id": "a", "cmd": "set_param",
                 "args": {"slot": "nope", "param": "room_size", "value": 0.5}}), "slot"),
    (json.dumps({"v": 1, "id": "a", "cmd": "set_param",
                 "args": {"slot": "reverb", "param": "volume", "value": 0.5}}), "volume"),
    (json.dumps({"v": 1, "id": "a", "cmd": "set_tempo", "args": {"bpm": 9000.0}}), "bpm"),
    (json.dumps({"v": 1, "id": "a", "cmd": "select_snapshot", "args": {"index": -1}}), "index"),
    (json.dumps({"v": 1, "id": "a", "cmd": "select_preset", "args": {"preset": "no-such"}}),
     "no-such"),
    (json.dumps({"v": 1, "id": "x" * 65, "cmd": "toggle", "args": {"slot": "reverb"}}), "id"),
    (json.dumps({"v": 1, "id": "a", "cmd": "toggle",
                 "args": {"slot": "reverb", "pad": "y" * (300 * 1024)}}), "larger"),
]


def test_bad_messages_get_errors_naming_the_field_and_change_nothing(
        server: ServerProcess, token: str, pedal: PedalProcess, validators: Any) -> None:
    client = pedal.client()
    before = client.state()

    async def scenario() -> list[dict[str, Any]]:
        phone = await Phone.connect(ws_url(server, token), validators)
        replies = [await phone.send_raw(text) for text, _ in BAD_MESSAGES]
        await phone.close()
        return replies

    replies = asyncio.run(scenario())
    for (_, field), reply in zip(BAD_MESSAGES, replies, strict=True):
        assert reply["type"] == "error", reply
        assert reply["code"] in ("bad_request", "not_found")
        assert field in reply["message"], (field, reply["message"])
    after = client.state()
    client.close()
    assert after["revision"] == before["revision"]
    assert after["chain"] == before["chain"]


def test_two_phones_and_the_footswitch_stay_in_sync(
        server: ServerProcess, token: str, pedal: PedalProcess, validators: Any) -> None:
    async def scenario() -> None:
        one = await Phone.connect(ws_url(server, token), validators)
        two = await Phone.connect(ws_url(server, token), validators)
        await one.send("set_param", slot="reverb", param="damping", value=0.33)
        seen = await two.until_event("param_changed")
        assert seen["data"] == {"slot": "reverb", "param": "damping", "value": 0.33}
        client = pedal.client()
        pressed = await asyncio.to_thread(client.request, "press", switch="fs1")
        client.close()
        assert pressed["type"] == "ack"
        for phone in (one, two):
            event = await phone.until_event("bypass_changed")
            assert event["data"]["slot"] == "reverb"
            assert event["revision"] == pressed["revision"]
        await one.close()
        await two.close()

    asyncio.run(scenario())


def test_engine_restart_closes_phones_and_they_come_back(validators: Any) -> None:
    pedal = PedalProcess()
    server = ServerProcess(pedal.data_dir)
    try:
        token = server.pair(pedal.pair_code())

        async def until_closed(phone: Phone) -> int:
            try:
                while True:
                    await phone.recv(30)
            except websockets.ConnectionClosed as closed:
                return closed.rcvd.code if closed.rcvd else -1

        async def before_restart() -> int:
            phone = await Phone.connect(ws_url(server, token), validators)
            await phone.send("set_param", slot="reverb", param="room_size", value=0.25)
            pedal.stop()
            return await until_closed(phone)

        assert asyncio.run(before_restart()) == 1012
        restarted = PedalProcess(pedal.data_dir)

        async def after_restart() -> dict[str, Any]:
            for _ in range(100):
                try:
                    phone = await Phone.connect(ws_url(server, token), validators)
                except (websockets.ConnectionClosed, AssertionError):
                    await asyncio.sleep(0.1)
                    continue
                state = phone.messages[0]["state"]
                await phone.close()
                return state
            raise AssertionError("no state after the engine restarted")

        state = asyncio.run(after_restart())
        assert slot_of(state, "reverb")["params"]["room_size"] == pytest.approx(0.25)
        restarted.stop()
    finally:
        server.stop()
        pedal.stop()


def test_a_stalled_subscriber_overflows_alone() -> None:
    async def scenario() -> None:
        stalled, healthy = Subscriber(), Subscriber()
        healthy.wants_meters = stalled.wants_meters = True
        for revision in range(QUEUE_SIZE + 1):
            message = {"type": "event", "revision": revision}
            stalled.offer(message)
            healthy.offer(message)
            healthy.queue.get_nowait()
        assert stalled.overflowed.is_set() and not healthy.overflowed.is_set()
        lossy = Subscriber()
        lossy.wants_meters = True
        for _ in range(LOSSY_LIMIT * 3):
            lossy.offer({"type": "meters", "data": {}})
        assert lossy.queue.qsize() == LOSSY_LIMIT and not lossy.overflowed.is_set()

    asyncio.run(scenario())
