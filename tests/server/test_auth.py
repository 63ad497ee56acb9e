"""Pairing, tokens and refusals: nothing but pairing works without a token."""

from __future__ import annotations

import asyncio
import json
import re
import ssl
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
import websockets
from server_support import PedalProcess, ServerProcess, short_tmpdir

from pedalboard.protocol import COMMANDS

PUBLIC = {("POST", "/api/v1/pair"), ("GET", "/api/v1/session")}
#: Listening carries audio, not control: public unless configured otherwise.
LISTENING = {("GET", "/stream.ogg"), ("GET", "/api/v1/listen/info"), ("GET", "/stream.sdp")}


def _routes(base_url: str) -> list[tuple[str, str]]:
    schema = httpx.get(f"{base_url}/openapi.json", timeout=10).json()
    routes = []
    for path, methods in schema["paths"].items():
        for method in methods:
            concrete = re.sub(r"\{[^}]+\}", "x", path).replace("/snapshots/x", "/snapshots/1")
            concrete = concrete.replace("/midi/maps/x", "/midi/maps/1")
            routes.append((method.upper(), path if "{" not in path else concrete))
    return routes


def test_every_rest_route_refuses_without_a_token(server: ServerProcess) -> None:
    routes = _routes(server.base_url)
    assert len(routes) > 35
    assert set(routes) >= LISTENING, "the listener routes are served"
    for method, path in routes:
        if (method, path) in PUBLIC:
            continue
        if (method, path) in LISTENING:
            # An endless audio stream: read the status line, then hang up.
            with httpx.stream(method, f"{server.base_url}{path}", timeout=10) as reply:
                assert reply.status_code not in (401, 403), (method, path)
            continue
        for headers in ({}, {"Authorization": "Bearer not-a-token"},
                        {"Cookie": "pedal_token=forged"}):
            reply = httpx.request(method, f"{server.base_url}{path}", json={}, headers=headers,
                                  timeout=10)
            assert reply.status_code == 401, (method, path, headers, reply.text)
            assert reply.json()["code"] == "unauthorized"


async def _close_code(url: str, first: str | None = None) -> tuple[int, list[str]]:
    received: list[str] = []
    async with websockets.connect(url) as ws:
        if first is not None:
            await ws.send(first)
        try:
            while True:
                received.append(await asyncio.wait_for(ws.recv(), 15))
        except websockets.ConnectionClosed as closed:
            return closed.rcvd.code if closed.rcvd else -1, received


def test_websocket_without_token_is_closed_4401_before_any_state(server: ServerProcess) -> None:
    cases = [
        (server.ws_url, json.dumps({"v": 1, "type": "auth", "token": "wrong"})),
        (f"{server.ws_url}?token=wrong", None),
        (server.ws_url, json.dumps({"v": 1, "id": "1", "cmd": "get_state", "args": {}})),
        (server.ws_url, json.dumps({"v": 1, "id": "1", "cmd": "toggle",
                                    "args": {"slot": "reverb"}})),
        (server.ws_url, "not json"),
    ]
    # Every command of the protocol, as the first message without a token.
    cases += [(server.ws_url, json.dumps({"v": 1, "id": "1", "cmd": cmd, "args": {}}))
              for cmd in sorted(COMMANDS)]
    for url, first in cases:
        code, received = asyncio.run(_close_code(url, first))
        assert code == 4401, (url, first)
        assert received == [], "nothing may be sent before authentication"


def test_unauthenticated_commands_change_nothing(server: ServerProcess, pedal: PedalProcess) -> None:
    client = pedal.client()
    before = client.state()
    asyncio.run(_close_code(server.ws_url, json.dumps(
        {"v": 1, "id": "1", "cmd": "toggle", "args": {"slot": "reverb"}})))
    httpx.post(f"{server.base_url}/api/v1/state/effects/reverb/toggle", timeout=10)
    after = client.state()
    client.close()
    assert after["revision"] == before["revision"]


def test_pairing_sets_a_strict_httponly_cookie_and_tokens_are_hashed(
        server: ServerProcess, pedal: PedalProcess) -> None:
    reply = httpx.post(f"{server.base_url}/api/v1/pair", json={"code": pedal.pair_code()},
                       timeout=10)
    assert reply.status_code == 200
    token = reply.json()["token"]
    cookie = reply.headers["set-cookie"]
    assert f"pedal_token={token}" in cookie
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
    stored = (pedal.data_dir / "server-tokens.json").read_text()
    assert token not in stored
    state = httpx.get(f"{server.base_url}/api/v1/state", cookies={"pedal_token": token},
                      timeout=10)
    assert state.status_code == 200 and "chain" in state.json()


def test_tokens_are_listed_and_revocation_closes_the_socket(
        server: ServerProcess, pedal: PedalProcess) -> None:
    keeper = server.pair(pedal.pair_code())
    doomed = server.pair(pedal.pair_code())
    headers = {"Authorization": f"Bearer {keeper}"}
    listed = httpx.get(f"{server.base_url}/api/v1/tokens", headers=headers, timeout=10).json()
    assert len(listed) >= 2 and all("id" in t and "label" in t for t in listed)

    async def scenario() -> int:
        async with websockets.connect(f"{server.ws_url}?token={doomed}") as ws:
            first = json.loads(await ws.recv())
            assert first["type"] == "state"
            # Revoke every device but the keeper's (the doomed one included).
            reply = httpx.delete(f"{server.base_url}/api/v1/tokens", headers=headers, timeout=10)
            assert reply.status_code == 204
            try:
                while True:
                    await asyncio.wait_for(ws.recv(), 10)
            except websockets.ConnectionClosed as closed:
                return closed.rcvd.code if closed.rcvd else -1

    assert asyncio.run(scenario()) == 4401
    gone = httpx.get(f"{server.base_url}/api/v1/state",
                     headers={"Authorization": f"Bearer {doomed}"}, timeout=10)
    assert gone.status_code == 401
    kept = httpx.get(f"{server.base_url}/api/v1/state", headers=headers, timeout=10)
    assert kept.status_code == 200


def test_wrong_codes_are_rate_limited(pedal: PedalProcess) -> None:
    # A server of its own: the limit is per server and per client address.
    server = ServerProcess(pedal.data_dir)
    try:
        code = pedal.pair_code()
        wrong = "000000" if code != "000000" else "111111"
        statuses = [httpx.post(f"{server.base_url}/api/v1/pair", json={"code": wrong},
                               timeout=10).status_code for _ in range(6)]
        assert statuses[:5] == [401] * 5
        assert statuses[5] == 429
        right = httpx.post(f"{server.base_url}/api/v1/pair", json={"code": code}, timeout=10)
        assert right.status_code == 429, "even the right code waits once the limit is hit"
        assert int(right.headers["retry-after"]) > 0
    finally:
        server.stop()


def test_cors_is_closed_by_default_and_foreign_origins_are_refused(
        server: ServerProcess, token: str) -> None:
    reply = httpx.options(f"{server.base_url}/api/v1/state", timeout=10, headers={
        "Origin": "https://evil.example", "Access-Control-Request-Method": "GET"})
    assert "access-control-allow-origin" not in reply.headers

    async def foreign() -> int:
        try:
            async with websockets.connect(f"{server.ws_url}?token={token}",
                                          origin="https://evil.example") as ws:
                await ws.recv()
        except websockets.InvalidStatus as refused:
            return refused.response.status_code
        except websockets.ConnectionClosed as closed:
            return closed.rcvd.code if closed.rcvd else -1
        return 0

    assert asyncio.run(foreign()) == 403


def test_cors_origin_option_opens_one_origin(pedal: PedalProcess) -> None:
    server = ServerProcess(pedal.data_dir, extra=["--cors-origin", "https://editor.example"])
    try:
        reply = httpx.options(f"{server.base_url}/api/v1/state", timeout=10, headers={
            "Origin": "https://editor.example", "Access-Control-Request-Method": "GET"})
        assert reply.headers.get("access-control-allow-origin") == "https://editor.example"
    finally:
        server.stop()


@pytest.fixture(scope="module")
def tls_pair() -> tuple[Path, Path]:
    directory = short_tmpdir()
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    return cert, key


def test_tls_serves_https_and_wss(pedal: PedalProcess, tls_pair: tuple[Path, Path]) -> None:
    cert, key = tls_pair
    server = ServerProcess(pedal.data_dir, extra=["--tls-cert", str(cert), "--tls-key", str(key)],
                           scheme="https")
    try:
        context = ssl.create_default_context(cafile=str(cert))
        reply = httpx.post(f"{server.base_url}/api/v1/pair", json={"code": pedal.pair_code()},
                           verify=context, timeout=10)
        assert reply.status_code == 200
        assert "Secure" in reply.headers["set-cookie"]
        token = reply.json()["token"]
        with pytest.raises(httpx.HTTPError):
            httpx.get(f"http://127.0.0.1:{server.port}/api/v1/session", timeout=5)

        async def state_over_wss() -> str:
            async with websockets.connect(f"{server.ws_url}?token={token}", ssl=context) as ws:
                return json.loads(await ws.recv())["type"]

        assert asyncio.run(state_over_wss()) == "state"
    finally:
        server.stop()


def test_bad_tls_options_give_one_line(pedal: PedalProcess) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pedalboard.server",
         "--data-dir", str(pedal.data_dir), "--tls-cert", "/nonexistent.pem",
         "--tls-key", "/nonexistent.key"], capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert result.stderr.strip() == "error: --tls-cert /nonexistent.pem: no such file"
