"""The stream as a listener meets it: a real pedal process, the real web
service, and an ordinary HTTP client that decodes what it gets.

The web service finds the engine's output ring through the controller,
titles the stream with the current preset, and follows the engine across a
restart (the ring is a new one then) without being restarted itself.
"""

from __future__ import annotations

import io
import sys
import threading
import time
from pathlib import Path

import av
import httpx
import numpy as np
import soundfile

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "server"))
from server_support import PedalProcess, ServerProcess


def listen(base_url: str, seconds: float, until: threading.Event | None = None) -> bytes:
    """What a player downloading /stream.ogg for ``seconds`` gets, or, once
    ``until`` is set, until the pedal is heard again. The stream never pauses
    (silence while the engine restarts), so a read timeout is a failure."""
    data = bytearray()
    deadline = time.monotonic() + seconds
    checked = time.monotonic()
    with httpx.stream("GET", f"{base_url}/stream.ogg", timeout=10.0) as response:
        assert response.status_code == 200
        assert response.headers["content-type"] == "audio/ogg"
        for chunk in response.iter_bytes():
            data += chunk
            if time.monotonic() > deadline:
                break
            if until is not None and until.is_set() and time.monotonic() - checked > 1.0:
                checked = time.monotonic()
                try:
                    heard = decode(bytes(data))[0][:, -24000:]
                except (av.error.FFmpegError, ValueError):  # a page cut in half: read on
                    continue
                if np.sqrt(np.mean(heard**2)) > 1e-3:
                    break
    return bytes(data)


def decode(ogg: bytes) -> tuple[np.ndarray, int, int, str]:
    """Samples, sample rate, channels and title, as PyAV (ffmpeg) sees them."""
    with av.open(io.BytesIO(ogg)) as container:
        stream = container.streams.audio[0]
        title = stream.metadata.get("TITLE", "") or stream.metadata.get("title", "")
        frames = [frame.to_ndarray() for frame in container.decode(stream)]
        return np.concatenate(frames, axis=1), stream.rate, stream.channels, title


def wait_for(predicate, what: str, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def info(base_url: str) -> dict:
    return httpx.get(f"{base_url}/api/v1/listen/info", timeout=5.0).json()


def test_the_pedal_streams_its_preset_and_survives_an_engine_restart(tmp_path: Path) -> None:
    pedal = PedalProcess()
    record = tmp_path / "gig.flac"
    server = ServerProcess(pedal.data_dir, extra=["--record", str(record)])
    restarted = None
    try:
        client = pedal.client()
        name = client.state()["preset_name"]
        wait_for(lambda: info(server.base_url)["running"], "the stream to start")

        audio, rate, channels, title = decode(listen(server.base_url, 2.0))
        assert (rate, channels) == (48000, 1)
        assert title == name
        assert audio.shape[1] > 48000  # more than a second of it
        assert np.sqrt(np.mean(audio[:, 9600:] ** 2)) > 1e-3  # the demo guitar, not silence

        # Another preset: the title new listeners get follows it.
        other = next(p for p in client.state()["presets"] if p["name"] != name)
        assert client.request("select_preset", preset=other["id"])["type"] == "ack"
        wait_for(lambda: info(server.base_url)["title"] == other["name"], "the new title")
        assert decode(listen(server.base_url, 0.5))[3] == other["name"]
        client.close()

        # The engine restarts (a new shared-memory ring); the web service, the
        # listener who stays connected and the recording all go on.
        across: dict[str, bytes] = {}
        back = threading.Event()
        thread = threading.Thread(target=lambda: across.update(ogg=listen(server.base_url, 120.0, back)))
        thread.start()
        time.sleep(1.0)
        pedal.stop()
        restarted = PedalProcess(pedal.data_dir)
        back.set()
        thread.join(150)
        audio, _, _, _ = decode(across["ogg"])
        assert np.sqrt(np.mean(audio[:, -24000:] ** 2)) > 1e-3  # sound again after the restart
        assert server.proc.poll() is None
        assert decode(listen(server.base_url, 0.5))[3] == other["name"]  # the restored preset

        # The recording is one take, finished when the service stops.
        server.stop()
        takes = sorted(tmp_path.glob("gig-*.flac"))
        assert [take.name for take in takes] == ["gig-0001.flac"]
        recorded, recorded_rate = soundfile.read(takes[0], dtype="float32")
        assert recorded_rate == 48000 and recorded.shape[0] > 5 * 48000
        assert np.sqrt(np.mean(recorded[9600:] ** 2)) > 1e-3
    finally:
        if restarted is not None:
            restarted.stop()
        server.stop()
        pedal.stop()


def test_streaming_can_be_off_and_options_are_checked(tmp_path: Path) -> None:
    pedal = PedalProcess()
    server = ServerProcess(pedal.data_dir, extra=["--no-stream"])
    try:
        assert httpx.get(f"{server.base_url}/stream.ogg", timeout=5.0).status_code == 404
        assert httpx.get(f"{server.base_url}/stream.sdp", timeout=5.0).status_code == 404
    finally:
        server.stop()
        pedal.stop()
    import subprocess

    for args, message in (
        (["--record", str(tmp_path / "nowhere" / "x.flac")], "does not exist"),
        (["--record", str(tmp_path / "x.mp3")], "use a .flac, .ogg or .opus"),
        (["--bitrate", "1000"], "6000 to 510000"),
        (["--sdp", str(tmp_path / "x.sdp")], "--sdp needs --rtp"),
        (["--icecast", "http://nowhere"], "icecast://"),
    ):
        result = subprocess.run(
            [sys.executable, "-m", "pedalboard", "run", "--audio", "virtual", "--data-dir",
             str(tmp_path / "d"), *args], capture_output=True, text=True, timeout=60)
        assert result.returncode == 2, (args, result.stdout, result.stderr)
        assert message in result.stderr and "Traceback" not in result.stderr, result.stderr
        assert len(result.stderr.strip().splitlines()) == 1
