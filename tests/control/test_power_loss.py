"""Pulling the plug: SIGKILL ``pedal run`` at random moments during a stream of
edits, restart it, and check that what comes back is a committed state that
holds every acknowledged edit, in a database that passes its integrity check."""

from __future__ import annotations

import random
import shutil
import socket
import sqlite3
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from control_support import SECOND_PRESET, TEST_PRESET, Client, PedalProcess, short_tmpdir

ROUNDS = 50
SEED = 20261125


@dataclass
class Model:
    """What the pedal's state must be after the acknowledged edits."""

    revision: int = 0
    values: dict[str, Any] = field(default_factory=dict)
    presets: set[str] = field(default_factory=set)

    def applied(self, edit: tuple[str, Any]) -> Model:
        key, value = edit
        model = Model(self.revision + 1, dict(self.values), set(self.presets))
        if key == "preset":
            model.presets.add(value)
        else:
            model.values[key] = value
        return model


def observed(state: dict[str, Any]) -> dict[str, Any]:
    chain = {slot["id"]: slot for slot in state["chain"]}
    return {
        "boost.gain_db": chain["boost"]["params"]["gain_db"],
        "level.gain_db": chain["level"]["params"]["gain_db"],
        "level.bypass": chain["level"]["bypass"],
        "tempo": state["tempo_bpm"],
    }


def random_edit(rng: random.Random, n: int) -> tuple[dict[str, Any], tuple[str, Any]]:
    """One edit as a protocol command and as the model's (key, value)."""
    kind = rng.choice(("boost", "level", "bypass", "tempo", "preset"))
    if kind in ("boost", "level"):
        value = round(rng.uniform(-24.0, 12.0), 3)
        return ({"cmd": "set_param", "args": {"slot": kind, "param": "gain_db", "value": value}},
                (f"{kind}.gain_db", value))
    if kind == "bypass":
        value = rng.random() < 0.5
        return {"cmd": "set_bypass", "args": {"slot": "level", "value": value}}, ("level.bypass", value)
    if kind == "tempo":
        value = round(rng.uniform(60.0, 200.0), 2)
        return {"cmd": "set_tempo", "args": {"bpm": value}}, ("tempo", value)
    preset_id = f"saved{n}"
    preset = {"id": preset_id, "name": f"Saved {n}",
              "chain": [{"id": "boost", "effect": "gain", "params": {"gain_db": -1.0}}]}
    return {"cmd": "save_preset", "args": {"preset": preset}}, ("preset", preset_id)


def connect(path: Path, timeout_s: float = 60.0) -> Client:
    """Connect as soon as the restarted pedal listens (a killed pedal leaves
    its socket file behind: connecting is refused until the new one binds)."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            return Client(path)
        except (ConnectionRefusedError, FileNotFoundError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.005)


def integrity(data_dir: Path) -> str:
    db = sqlite3.connect(f"file:{data_dir / 'pedal.db'}?mode=ro", uri=True)
    try:
        return db.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        db.close()


def check(state: dict[str, Any], revision: int, model: Model, pending: Model | None, round_: int) -> Model:
    """The restored state is the acknowledged one, or that plus the edit in flight."""
    for candidate in (model, pending):
        if candidate is None or revision != candidate.revision:
            continue
        expected = {**observed(state), **candidate.values}
        assert observed(state) == expected, f"round {round_}: state differs from revision {revision}"
        presets = {p["id"] for p in state["presets"]}
        assert candidate.presets <= presets, f"round {round_}: acknowledged presets lost"
        return candidate
    raise AssertionError(f"round {round_}: revision {revision} after the restart; acknowledged "
                         f"{model.revision}" + (f", in flight {pending.revision}" if pending else ""))


def test_sigkill_during_edits_loses_nothing_acknowledged() -> None:
    rng = random.Random(SEED)
    data_dir = short_tmpdir()
    pedal = PedalProcess(data_dir, seed=[TEST_PRESET, SECOND_PRESET])
    model = Model()
    pending: Model | None = None
    edits = acked = 0
    try:
        for round_ in range(ROUNDS):
            start = time.monotonic()
            pedal.start_background()
            client = connect(data_dir / "control.sock")
            initial = client.initial
            assert initial["type"] == "state"
            if round_ == 0:
                model = Model(initial["revision"], observed(initial["state"]),
                              {p["id"] for p in initial["state"]["presets"]})
            else:
                model = check(initial["state"], initial["revision"], model, pending, round_)
            pending = None
            # The plug is pulled at a random moment: now and then during the
            # start-up, mostly in the middle of the stream of edits.
            killer = threading.Timer(rng.uniform(0.0, 0.4), pedal.kill)
            killer.start()
            try:
                while True:
                    command, change = random_edit(rng, edits)
                    edits += 1
                    pending = model.applied(change)
                    reply = client.send({"v": 1, "id": f"e{edits}", **command})
                    assert reply["type"] == "ack", reply
                    assert reply["revision"] == pending.revision
                    model, pending = pending, None
                    acked += 1
            except (AssertionError, OSError, ValueError) as error:
                if pedal.process is not None and killer.is_alive():
                    raise  # a real failure, not the pulled plug
                del error
            finally:
                killer.join()
                client.close()
            assert integrity(data_dir) == "ok", f"round {round_}"
            assert time.monotonic() - start < 60
        pedal.start_background()
        client = connect(data_dir / "control.sock")
        check(client.initial["state"], client.initial["revision"], model, pending, ROUNDS)
        client.close()
        assert pedal.stop() == 0
        assert integrity(data_dir) == "ok"
        assert acked > 5 * ROUNDS  # the plug was pulled mid-stream, not only at start-up
    finally:
        pedal.kill()
        shutil.rmtree(data_dir, ignore_errors=True)


def test_a_killed_pedal_leaves_no_obstacle_to_its_restart() -> None:
    """After SIGKILL the stale socket file and lock file are there: a new
    pedal on the same data dir must take them over."""
    data_dir = short_tmpdir()
    pedal = PedalProcess(data_dir, seed=[TEST_PRESET])
    try:
        pedal.start()
        pedal.kill()
        assert (data_dir / "control.sock").exists()
        pedal.start()
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
            probe.connect(str(data_dir / "control.sock"))
        assert pedal.stop() == 0
    finally:
        pedal.kill()
        shutil.rmtree(data_dir, ignore_errors=True)
