"""The TOML device config: every mistake is one line naming the file and the key."""

from __future__ import annotations

import re
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from pedalboard.device.config import ConfigError, load_config

GOOD = """
gpio = "gpiozero"

[[footswitch]]
name = "fs1"
line = 17
led_line = 27

[[footswitch]]
name = "fs2"
line = 22
key = "2"

[actions]
fs1.press = "toggle:drive"
fs1.long = "tuner"
fs2.press = "preset:next"
fs2.long = "bank:next"
fs2.double = "snapshot:3"

[midi]
api = "jack"
in_port = "virtual"
channel = 2

[gestures]
long_ms = 500
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "pedal.toml"
    path.write_text(text)
    return path


def test_a_good_config_maps_switches_to_actions(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, GOOD))
    assert [fs.name for fs in config.footswitch] == ["fs1", "fs2"]
    assert config.footswitch[0].active_low and config.footswitch[0].bias == "pull-up"
    assert config.action_map() == {
        "fs1": {"press": "toggle:drive", "long": "tuner"},
        "fs2": {"press": "preset:next", "long": "bank:next", "double": "snapshot:3"},
    }
    assert config.midi is not None and config.midi.api == "jack" and config.midi.channel == 2
    assert config.gestures.long_ms == 500.0


@pytest.mark.parametrize(("edit", "key", "detail"), [
    # unknown keys, at every level
    (("gpio = \"gpiozero\"", "gpio = \"gpiozero\"\npins = 4"), "pins", "unknown key"),
    (("line = 17\n", "line = 17\nlien = 3\n"), "footswitch[1].lien", "unknown key"),
    (("channel = 2", "channel = 2\nspeed = 3"), "midi.speed", "unknown key"),
    (("long_ms = 500", "long_ms = 500\nshort_ms = 20"), "gestures.short_ms", "unknown key"),
    # impossible lines
    (("line = 22", "line = 17"), "footswitch[2].line",
     "line 17 of /dev/gpiochip0 is already used by fs1.line"),
    (("led_line = 27", "led_line = 17"), "footswitch[1].led_line", "already used by fs1.line"),
    (("line = 22", "line = 9000"), "footswitch[2].line", "less than or equal to 511"),
    (("line = 22", "line = -1"), "footswitch[2].line", "greater than or equal to 0"),
    (("line = 22", "line = \"twenty\""), "footswitch[2].line", "valid integer"),
    # unknown actions and gestures, and actions for switches that do not exist
    (("\"toggle:drive\"", "\"explode:drive\""), "actions.fs1.press", "unknown action 'explode:drive'"),
    (("\"snapshot:3\"", "\"snapshot:9\""), "actions.fs2.double", "unknown action 'snapshot:9'"),
    (("fs1.long = \"tuner\"", "fs1.stomp = \"tuner\""), "actions.fs1.stomp", "unknown gesture"),
    (("fs2.long = \"bank:next\"", "fs7.long = \"bank:next\""), "actions.fs7",
     "no [[footswitch]] named 'fs7'"),
    # wrong values elsewhere
    (("api = \"jack\"", "api = \"coreaudio\""), "midi.api", "'alsa' or 'jack'"),
    (("channel = 2", "channel = 17"), "midi.channel", "less than or equal to 16"),
    (("name = \"fs2\"", "name = \"fs1\""), "footswitch[2].name", "'fs1' is used twice"),
])
def test_each_mistake_is_one_line_naming_the_file_and_the_key(
        tmp_path: Path, edit: tuple[str, str], key: str, detail: str) -> None:
    old, new = edit
    assert old in GOOD
    path = write(tmp_path, GOOD.replace(old, new, 1))
    with pytest.raises(ConfigError) as raised:
        load_config(path)
    message = str(raised.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: {key}"), message
    assert detail in message, message


def test_not_toml_and_missing_file(tmp_path: Path) -> None:
    path = write(tmp_path, "[[footswitch]\nname = 'fs1'\n")
    with pytest.raises(ConfigError, match=rf"^{re.escape(str(path))}: not valid TOML: .*line 1"):
        load_config(path)
    with pytest.raises(ConfigError, match=r"config file not found: .*nope\.toml"):
        load_config(tmp_path / "nope.toml")


def test_pedal_run_with_a_bad_config_prints_one_line_and_fails(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD.replace("\"preset:next\"", "\"preset:sideways!\""))
    data_dir = tmp_path / "data"
    done = subprocess.run(
        [sys.executable, "-m", "pedalboard.cli", "run", "--audio", "virtual", "--no-server",
         "--data-dir", str(data_dir), "--config", str(path)],
        capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert lines == [f"error: {path}: actions.fs2.press: unknown action 'preset:sideways!' "
                     "(actions: toggle:SLOT, preset:next|prev|ID, bank:next|prev|ID, snapshot:1-8, "
                     "tap, tuner, tempo:BPM)"], done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    assert not (data_dir / "control.sock").exists()


def test_server_section_with_tls_paths_relative_to_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD + '\n[server]\nhost = "0.0.0.0"\nport = 8443\ntls_cert = "c.pem"\n'
                 'tls_key = "/etc/k.pem"\ncors_origins = ["https://stage.example"]\n')
    server = load_config(path).server
    assert (server.host, server.port) == ("0.0.0.0", 8443)
    assert server.tls_cert == tmp_path / "c.pem" and server.tls_key == Path("/etc/k.pem")
    assert server.cors_origins == ["https://stage.example"]
    with pytest.raises(ConfigError, match=r"server\.port: .*less than or equal to 65535"):
        load_config(write(tmp_path, GOOD + "\n[server]\nport = 80000\n"))
    with pytest.raises(ConfigError, match=r"server\.cors_origins\[1\]: .*pattern"):
        load_config(write(tmp_path, GOOD + '\n[server]\ncors_origins = ["*"]\n'))


def test_the_default_config_is_valid_and_maps_four_switches(tmp_path: Path) -> None:
    from pedalboard.device.config import DEFAULT_CONFIG_TOML, load_or_write_default

    path = tmp_path / "new" / "pedal.toml"
    config = load_or_write_default(path)
    assert path.read_text() == DEFAULT_CONFIG_TOML
    assert [(fs.name, fs.key, fs.line) for fs in config.footswitch] == [
        ("fs1", "1", None), ("fs2", "2", None), ("fs3", "3", None), ("fs4", "4", None)]
    assert config.action_map()["fs4"] == {"press": "tap", "long": "tuner"}


def test_pedal_run_serves_https_from_the_server_section(tmp_path: Path) -> None:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    (data_dir / "pedal.toml").write_text('[server]\ntls_cert = "../cert.pem"\ntls_key = "../missing.pem"\n')
    done = subprocess.run([sys.executable, "-m", "pedalboard.cli", "run", "--audio", "virtual",
                           "--data-dir", str(data_dir), "--port", "1"],
                          capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert done.returncode == 2
    assert done.stderr.strip() == f"error: --tls-key {data_dir / '..' / 'missing.pem'}: no such file"

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    (data_dir / "pedal.toml").write_text(f'[server]\nport = {port}\ntls_cert = "../cert.pem"\n'
                                         'tls_key = "../key.pem"\n')
    pedal = subprocess.Popen([sys.executable, "-m", "pedalboard.cli", "run", "--audio", "virtual",
                              "--data-dir", str(data_dir), "--no-stream"],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                             stdin=subprocess.DEVNULL)
    try:
        assert pedal.stdout is not None
        line = ""
        while not line.startswith("web control service:"):
            line = pedal.stdout.readline()
            assert line, "pedal run ended before it started its web service"
        assert line == f"web control service: https://127.0.0.1:{port}/\n"
        context = ssl.create_default_context(cafile=str(cert))
        context.check_hostname = False
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"https://127.0.0.1:{port}/api/v1/state", context=context):
                    raise AssertionError("the state was served without a token")
            except urllib.error.HTTPError as refused:
                assert refused.code == 401  # HTTPS, and pairing still required
                break
            except urllib.error.URLError:
                assert time.monotonic() < deadline, "the web service did not answer over HTTPS"
                time.sleep(0.2)
    finally:
        pedal.terminate()
        pedal.wait(timeout=30)
