"""``pedal ctl`` against a real ``pedal run --audio virtual --no-server`` process."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from control_support import SECOND_PRESET, TEST_PRESET, PedalProcess, ctl, short_tmpdir

CONFIG = """
gpio = "none"

[[footswitch]]
name = "fs1"

[[footswitch]]
name = "fs2"

[actions]
fs1.press = "toggle:level"
fs1.long = "tuner"
fs2.press = "preset:next"
"""
STATUS_FIELDS = ("sample_rate", "block_size", "preset", "xruns", "dsp_load_p50", "dsp_load_p99", "revision")


@pytest.fixture(scope="module")
def pedal() -> Iterator[PedalProcess]:
    data_dir = short_tmpdir()
    process = PedalProcess(data_dir, seed=[TEST_PRESET, SECOND_PRESET], config=CONFIG)
    process.start()
    try:
        yield process
    finally:
        process.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


def run(pedal: PedalProcess, *args: str) -> str:
    """Run a ctl command that must succeed; returns its one line of output."""
    done = ctl(pedal.data_dir, *args)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    return done.stdout.strip()


def fail(pedal_dir: Path, *args: str) -> str:
    """Run a ctl command that must fail; returns its one line of error."""
    done = ctl(pedal_dir, *args)
    assert done.returncode == 1, (done.stdout, done.stderr)
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "Traceback" not in done.stderr
    return lines[0]


def state(pedal: PedalProcess) -> dict:
    return json.loads(run(pedal, "state"))


def status(pedal: PedalProcess) -> dict:
    return json.loads(run(pedal, "status", "--json"))


def test_status_json_has_the_documented_fields(pedal: PedalProcess) -> None:
    result = status(pedal)
    assert set(STATUS_FIELDS) <= set(result)
    assert result["sample_rate"] == 48000 and result["block_size"] == 64
    assert result["preset"] in ("test", "second")
    assert isinstance(result["xruns"], int) and isinstance(result["revision"], int)
    assert 0.0 <= result["dsp_load_p50"] <= result["dsp_load_p99"] <= 1.0
    assert result["backend"] == "virtual"
    assert result["audio_ok"] is True and isinstance(result["realtime"], bool)
    text = run(pedal, "status")
    assert f"revision {result['revision']}" in text and "48000 Hz, 64 frames" in text
    assert "backend virtual: audio running" in text


def test_preset_next_prev_and_by_name(pedal: PedalProcess) -> None:
    run(pedal, "preset", "test")
    assert run(pedal, "preset", "next") == "preset: second"
    assert status(pedal)["preset"] == "second"
    assert run(pedal, "preset", "prev") == "preset: test"
    assert run(pedal, "preset", "Second") == "preset: second"  # by name
    assert run(pedal, "preset", "test") == "preset: test"
    message = fail(pedal.data_dir, "preset", "nosuch")
    assert message.startswith("error: preset: no preset 'nosuch'")


def test_set_toggle_snapshot_and_the_revision(pedal: PedalProcess) -> None:
    run(pedal, "preset", "test")
    revision = status(pedal)["revision"]
    assert run(pedal, "set", "boost.gain_db", "4.5") == "boost.gain_db = 4.5"
    assert state(pedal)["chain"][0]["params"]["gain_db"] == 4.5
    assert status(pedal)["revision"] == revision + 1
    assert run(pedal, "toggle", "level") == "level: bypassed"
    assert state(pedal)["chain"][1]["bypass"] is True
    assert run(pedal, "toggle", "level") == "level: on"
    assert run(pedal, "snapshot", "2") == "snapshot: 2"  # "Quiet": boost at -12 dB
    after = state(pedal)
    assert after["snapshot"] == 1 and after["chain"][0]["params"]["gain_db"] == -12.0
    assert status(pedal)["revision"] == revision + 4


def test_bad_values_name_slot_param_and_range_and_change_nothing(pedal: PedalProcess) -> None:
    run(pedal, "preset", "test")
    before = status(pedal)["revision"]
    message = fail(pedal.data_dir, "set", "boost.gain_db", "99")
    assert "boost" in message and "gain_db" in message and "99" in message
    assert re.search(r"\[-?\d+(\.\d+)?, \d+(\.\d+)?\]", message), message  # the allowed range
    assert fail(pedal.data_dir, "set", "nosuch.gain_db", "1").startswith("error: slot: no slot 'nosuch'")
    assert "no parameter 'volume'" in fail(pedal.data_dir, "set", "boost.volume", "1")
    assert "SLOT_ID.PARAM" in fail(pedal.data_dir, "set", "boost", "1")
    assert fail(pedal.data_dir, "snapshot", "9") == "error: snapshot 9: snapshots are numbered 1-8"
    assert "expected on or off" in fail(pedal.data_dir, "tuner", "maybe")
    assert status(pedal)["revision"] == before


def test_tap_tempo_press_and_tuner(pedal: PedalProcess) -> None:
    assert run(pedal, "tempo", "90") == "tempo: 90 bpm"
    assert state(pedal)["tempo_bpm"] == 90.0
    # The first tap prints "tap"; a tap within 2 s of the previous one prints
    # the tempo (a loaded machine may start a ctl process late: tap again).
    assert run(pedal, "tap") == "tap"
    for _ in range(6):
        printed = run(pedal, "tap")
        match = re.fullmatch(r"tempo: ([\d.]+) bpm", printed)
        if match:
            break
        assert printed == "tap"
    assert match, printed
    assert state(pedal)["tempo_bpm"] == pytest.approx(float(match.group(1)))

    run(pedal, "preset", "test")
    assert run(pedal, "press", "fs1") == "fs1: toggle:level"
    assert state(pedal)["chain"][1]["bypass"] is True
    assert run(pedal, "press", "fs1") == "fs1: toggle:level"
    assert run(pedal, "press", "fs1", "--long") == "fs1: tuner"
    assert state(pedal)["tuner"] is True
    assert run(pedal, "tuner", "off") == "tuner: off"
    assert state(pedal)["tuner"] is False
    assert run(pedal, "tuner", "on") == "tuner: on"
    assert run(pedal, "tuner", "off") == "tuner: off"
    assert run(pedal, "press", "fs2") == "fs2: preset:next"
    assert status(pedal)["preset"] == "second"
    assert fail(pedal.data_dir, "press", "fs9").startswith("error: switch: no footswitch 'fs9'")


def test_footswitches_are_listed_and_assigned(pedal: PedalProcess) -> None:
    assert run(pedal, "footswitches") == "fs1: press=toggle:level long=tuner\nfs2: press=preset:next"
    assert run(pedal, "assign", "fs2", "long", "tuner") == "fs2.long: tuner"
    assert run(pedal, "assign", "fs2", "long", "none") == "fs2.long: nothing"
    assert run(pedal, "footswitches").endswith("fs2: press=preset:next")
    assert fail(pedal.data_dir, "assign", "fs2", "long", "explode").startswith(
        "error: action: unknown action 'explode'")
    assert fail(pedal.data_dir, "assign", "fs2", "hold", "tap").startswith(
        "error: set_footswitch_action: args.gesture:")


def test_pair_code_is_the_one_pedal_run_printed(pedal: PedalProcess) -> None:
    code = run(pedal, "pair-code")
    assert re.fullmatch(r"\d{6}", code)
    assert pedal.line("preset:").endswith(f"pair code: {code}")


def test_no_pedal_running_is_one_line_and_exit_1(tmp_path: Path) -> None:
    empty = tmp_path / "nothing-here"
    for args in (("status", "--json"), ("preset", "next"), ("set", "boost.gain_db", "1"), ("pair-code",)):
        assert fail(empty, *args) == (f"error: no pedal running with data dir {empty} "
                                      f"(start it with: pedal run --data-dir {empty})")


def test_data_dir_before_the_command_reaches_the_same_pedal(pedal: PedalProcess) -> None:
    """``pedal ctl --data-dir X status`` as well as ``pedal ctl status --data-dir X``."""
    done = subprocess.run([sys.executable, "-m", "pedalboard.cli", "ctl", "--data-dir", str(pedal.data_dir),
                           "status", "--json"], capture_output=True, text=True, timeout=60,
                          stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["preset"] == status(pedal)["preset"]


def test_a_mistyped_command_line_gets_usage_and_exit_2(tmp_path: Path) -> None:
    for args in (("ctl", "status", "--bogus"), ("ctl", "set"), ("render", "--preset", "crunch")):
        done = subprocess.run([sys.executable, "-m", "pedalboard.cli", *args], capture_output=True,
                              text=True, timeout=60, stdin=subprocess.DEVNULL, cwd=tmp_path)
        assert done.returncode == 2, (args, done.stderr)
        assert "Usage: pedal" in done.stderr and "Error:" in done.stderr, done.stderr
        assert "internal error" not in done.stderr and "Traceback" not in done.stderr
