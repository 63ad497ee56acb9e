"""Streaming with real parts: the engine (virtual clock), uvicorn, icecast2,
ffmpeg as the RTP receiver, PyAV decoding what a listener gets."""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import av
import numpy as np
import pytest
import uvicorn
from fastapi import FastAPI

from pedalboard.engine.backends import load_demo_input
from pedalboard.engine.engine import Engine
from pedalboard.presets import build_chain, read_preset
from pedalboard.stream.hub import StreamHub
from pedalboard.stream.icecast import IcecastSource, IcecastTarget, wait_until
from pedalboard.stream.ogg import ogg_crc
from pedalboard.stream.routes import RingSource, listener_router
from pedalboard.stream.rtp import RtpSender, from_l24, to_l24

SR = 48000
PRESET = "crunch"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def offline_reference(loops: int = 3) -> np.ndarray:
    """What the engine plays: the preset over the looped demo riff, rendered offline."""
    riff = load_demo_input(None, SR)
    return build_chain(read_preset(PRESET)).process(np.tile(riff, loops), SR)


def best_correlation(segment: np.ndarray, reference: np.ndarray) -> float:
    """Normalised cross-correlation at the best lag (the stream starts anywhere in the loop)."""
    n = len(segment)
    size = 1 << int(np.ceil(np.log2(len(reference) + n)))
    spectrum = np.fft.rfft(reference, size) * np.conj(np.fft.rfft(segment, size))
    lag = int(np.argmax(np.fft.irfft(spectrum, size)[: len(reference) - n]))
    window = reference[lag : lag + n]
    return float(np.dot(window, segment) / (np.linalg.norm(window) * np.linalg.norm(segment) + 1e-12))


def decode(data: bytes) -> tuple[np.ndarray, int, int]:
    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.audio[0]
        rate, channels = stream.rate, stream.channels
        frames = [f.to_ndarray() for f in container.decode(audio=0)]
    audio = np.concatenate(
        [f.reshape(channels, -1) if f.shape[0] == 1 and channels > 1 else f for f in frames], axis=1
    )
    return audio, rate, channels


@pytest.fixture(scope="module")
def engine() -> Iterator[Engine]:
    pedal = Engine("virtual", sample_rate=SR, block_size=64)
    pedal.load_chain(build_chain(read_preset(PRESET)), spillover=False)
    pedal.start()
    yield pedal
    pedal.stop()


@pytest.fixture(scope="module")
def hub(engine: Engine) -> Iterator[StreamHub]:
    streaming = StreamHub(RingSource(engine.output_ring.name), title=lambda: "Crunch")
    streaming.start()
    yield streaming
    streaming.stop()


@pytest.fixture(scope="module")
def server(hub: StreamHub) -> Iterator[str]:
    app = FastAPI()
    app.include_router(listener_router(lambda: hub))
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
    runner = uvicorn.Server(config)
    thread = threading.Thread(target=runner.run, daemon=True)
    thread.start()
    assert wait_until(lambda: runner.started, 10)
    yield f"http://127.0.0.1:{port}"
    runner.should_exit = True
    thread.join(5)


def read_http(url: str, seconds: float) -> bytes:
    data = bytearray()
    with urllib.request.urlopen(url, timeout=10) as response:
        assert response.headers["Content-Type"] == "audio/ogg"
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            data += response.read1(4096)
    return bytes(data)


def test_ogg_crc_matches_the_spec() -> None:
    # The CRC of the Ogg capture pattern alone, computed by libogg's algorithm.
    assert ogg_crc(b"OggS") == 0x5FB0A94F
    assert ogg_crc(b"") == 0


def test_l24_round_trip() -> None:
    x = np.linspace(-1, 1, 96, dtype=np.float32).reshape(2, 48)
    np.testing.assert_allclose(from_l24(to_l24(x), 2), x, atol=1.0 / 8388608.0)


def test_http_ogg_carries_the_engine_output(server: str) -> None:
    data = read_http(f"{server}/stream.ogg", 3.0)
    audio, rate, channels = decode(data)
    assert (rate, channels) == (SR, 1)
    assert audio.shape[1] > 2 * SR
    segment = audio[0, SR // 2 :]  # skip the codec's start-up
    assert best_correlation(segment, offline_reference()) > 0.9


def test_a_listener_leaving_does_not_stop_the_others(server: str, hub: StreamHub) -> None:
    results: dict[str, bytes] = {}

    def listen(name: str, seconds: float) -> None:
        results[name] = read_http(f"{server}/stream.ogg", seconds)

    steady = threading.Thread(target=listen, args=("steady", 3.0))
    steady.start()
    time.sleep(0.3)
    listen("leaver", 0.7)  # disconnects mid-stream
    steady.join()
    audio, _, _ = decode(results["steady"])
    assert audio.shape[1] > 2.5 * SR
    assert wait_until(lambda: hub.listener_count == 0, 5)


def test_stalled_listener_is_cut_off_without_growing(hub: StreamHub, server: str) -> None:
    with socket.create_connection(("127.0.0.1", int(server.rsplit(":", 1)[1]))) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.sendall(b"GET /stream.ogg HTTP/1.1\r\nHost: x\r\n\r\n")
        assert wait_until(lambda: hub.listener_count >= 1, 5)
        # Never read: the listener's queue fills, packets drop, memory stays bounded.
        time.sleep(3.0)
        listeners = list(hub._listeners)
        assert all(item.queue.qsize() <= hub.queue_packets for item in listeners)


def icecast_config(folder: Path, port: int, password: str) -> Path:
    (folder / "log").mkdir(exist_ok=True)
    if os.geteuid() == 0:  # icecast2 drops root for its own user, who must reach its logs
        folder.chmod(0o755)
        shutil.chown(folder / "log", "icecast2")
    config = folder / "icecast.xml"
    change_owner = (
        "<changeowner><user>icecast2</user><group>icecast</group></changeowner>" if os.geteuid() == 0 else ""
    )
    config.write_text(f"""<icecast>
  <limits><sources>2</sources><burst-size>0</burst-size><source-timeout>10</source-timeout></limits>
  <authentication><source-password>{password}</source-password><admin-user>admin</admin-user>
    <admin-password>{password}</admin-password></authentication>
  <hostname>127.0.0.1</hostname>
  <listen-socket><port>{port}</port><bind-address>127.0.0.1</bind-address></listen-socket>
  <http-headers><header name="Access-Control-Allow-Origin" value="*" /></http-headers>
  <paths><logdir>{folder}/log</logdir><webroot>/usr/share/icecast2/web</webroot>
    <adminroot>/usr/share/icecast2/admin</adminroot></paths>
  <logging><errorlog>-</errorlog><loglevel>2</loglevel></logging>
  <security><chroot>0</chroot>{change_owner}</security>
</icecast>""")
    return config


@contextlib.contextmanager
def icecast(folder: Path, port: int, password: str) -> Iterator[subprocess.Popen]:
    process = subprocess.Popen(
        ["icecast2", "-c", str(icecast_config(folder, port, password))],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert wait_until(lambda: _answers(port), 10), "icecast2 did not start"
        yield process
    finally:
        process.terminate()
        process.wait(10)


def _answers(port: int) -> bool:
    """Icecast binds its port before it drops privileges: wait for an HTTP answer."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/status-json.xsl", timeout=1):
            return True
    except urllib.error.HTTPError:
        return True
    except OSError:
        return False


def test_icecast_relays_the_stream_and_survives_a_restart(hub: StreamHub, engine: Engine) -> None:
    port, password = free_port(), "hackme-test"
    target = IcecastTarget.parse(f"icecast://source:{password}@127.0.0.1:{port}/pedal.ogg")
    source = IcecastSource(target, hub.headers())
    hub.page_sinks.append(source.send)
    source.start()
    mount = f"http://127.0.0.1:{port}/pedal.ogg"
    try:
        with tempfile.TemporaryDirectory() as folder:
            with icecast(Path(folder), port, password):
                assert wait_until(source.connected.is_set, 10), source.last_error
                time.sleep(0.5)
                audio, rate, channels = decode(read_http(mount, 3.0))
                assert (rate, channels) == (SR, 1)
                assert best_correlation(audio[0, SR // 2 :], offline_reference()) > 0.9
            # Icecast goes away: the engine does not notice, the source retries.
            applied_before = engine.status()["xruns"]
            assert wait_until(lambda: not source.connected.is_set(), 10)
            with icecast(Path(folder), port, password):
                assert wait_until(source.connected.is_set, 20), source.last_error
                time.sleep(0.5)
                audio, _, _ = decode(read_http(mount, 2.0))
                assert audio.shape[1] > SR
            assert source.connections >= 2
            assert engine.status()["running"]
            assert engine.status()["xruns"] - applied_before <= 50
    finally:
        hub.page_sinks.remove(source.send)
        source.stop()


def test_rtp_reaches_ffmpeg_sample_for_sample(tmp_path: Path) -> None:
    port = free_port() & ~1
    sender = RtpSender(f"127.0.0.1:{port}")
    sdp = tmp_path / "stream.sdp"
    sdp.write_text(sender.sdp())
    raw = tmp_path / "received.raw"
    receiver = subprocess.Popen(
        [
            "ffmpeg",
            "-v",
            "error",
            "-protocol_whitelist",
            "file,udp,rtp",
            "-i",
            str(sdp),
            "-f",
            "f32le",
            "-acodec",
            "pcm_f32le",
            "-y",
            str(raw),
        ],
        stdin=subprocess.DEVNULL,
    )
    try:
        time.sleep(1.5)  # ffmpeg opens its socket
        signal = offline_reference(1)[: SR * 2].astype(np.float32)[np.newaxis, :] * 0.5
        start = time.perf_counter()
        for i in range(0, signal.shape[1], 64):  # paced like the engine: 64 frames per 1.33 ms
            sender.send(signal[:, i : i + 64])
            while time.perf_counter() < start + (i + 64) / SR:
                time.sleep(0.0003)
        time.sleep(0.5)
    finally:
        receiver.terminate()
        receiver.wait(10)
        sender.close()
    received = np.fromfile(raw, dtype=np.float32)
    assert received.size == signal.shape[1]
    np.testing.assert_allclose(received, signal[0], atol=1.0 / 8388608.0 + 1e-9)
