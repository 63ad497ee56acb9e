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
from pedalboard.stream.ogg import ogg_crc, ogg_crc_reference, pad_opus_packet
from pedalboard.stream.opus import OpusEncoder
from pedalboard.stream.routes import RingSource, listener_router
from pedalboard.stream.rtp import RtpSender, from_l24, to_l24

SR = 48000
PRESET = "crunch"


def udp_port_bound(port: int) -> bool:
    """Whether some socket on this machine has bound UDP ``port`` (/proc/net/udp)."""
    for table in ("/proc/net/udp", "/proc/net/udp6"):
        with contextlib.suppress(OSError), open(table) as lines:
            for line in list(lines)[1:]:
                if int(line.split()[1].rsplit(":", 1)[1], 16) == port:
                    return True
    return False


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


def read_http(url: str, seconds: float, headers: dict[str, str] | None = None) -> bytes:
    data = bytearray()
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=10) as response:
        assert response.headers["Content-Type"] == "audio/ogg"
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            data += response.read1(4096)
    return bytes(data)


def test_ogg_crc_matches_the_spec() -> None:
    # The CRC of the Ogg capture pattern alone, computed by libogg's algorithm.
    assert ogg_crc(b"OggS") == 0x5FB0A94F
    assert ogg_crc(b"") == 0


def test_fast_ogg_crc_equals_the_byte_by_byte_one() -> None:
    rng = np.random.default_rng(7)
    for size in (1, 27, 255, 4096, 70000):
        data = rng.integers(0, 256, size, dtype=np.uint8).tobytes()
        assert ogg_crc(data) == ogg_crc_reference(data)


def _code2(first: bytes, second: bytes) -> bytes:
    """Two code-0 packets of the same configuration as one code-2 packet (RFC 6716 3.2.4)."""
    n = len(first) - 1
    length = bytes([n]) if n < 252 else bytes([252 + (n - 252) % 4, (n - 252 - (n - 252) % 4) // 4])
    return bytes([(first[0] & 0xFC) | 2]) + length + first[1:] + second[1:]


@pytest.mark.parametrize("decoder", ["libopus", "opus"])
def test_padded_opus_packets_decode_to_the_same_audio(decoder: str) -> None:
    x = 0.4 * np.sin(2 * np.pi * 220 * np.arange(SR) / SR).astype(np.float32)[np.newaxis, :]

    def decode_packets(packets: list[bytes]) -> np.ndarray:
        codec = av.CodecContext.create(decoder, "r")
        codec.sample_rate, codec.layout = SR, "mono"
        return np.concatenate(
            [frame.to_ndarray() for data in packets for frame in codec.decode(av.Packet(data))], axis=1
        )

    plain = [p.data for p in OpusEncoder(1, 128000, 10.0).encode(x)]
    cases = {
        "code 0 (10 ms)": plain,
        "code 1 (40 ms)": [p.data for p in OpusEncoder(1, 128000, 40.0).encode(x)],
        "code 3 (60 ms)": [p.data for p in OpusEncoder(1, 128000, 60.0).encode(x)],
        "code 2 (built)": [_code2(a, b) for a, b in zip(plain[::2], plain[1::2], strict=False)],
    }
    for name, packets in cases.items():
        assert {p[0] & 3 for p in packets} == {int(name[5])}, name
        reference = decode_packets(packets)
        for size in (1300, 2560, 20000):
            padded = [pad_opus_packet(p, size) for p in packets]
            assert all(len(p) == size or len(p) >= len(q) for p, q in zip(padded, packets, strict=True))
            assert any(len(p) == size for p in padded), (name, size)
            np.testing.assert_array_equal(decode_packets(padded), reference, err_msg=f"{name}, {size} B")
    assert pad_opus_packet(pad_opus_packet(plain[0], 900), 2000) == pad_opus_packet(plain[0], 900)


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


def test_browsers_get_padded_pages_of_the_same_audio(server: str, hub: StreamHub) -> None:
    """A web browser's media element waits for 32 KiB blocks: padded pages
    bring them at the hub's padded byte rate, and decode as the same stream."""
    browser = {"User-Agent": "Mozilla/5.0 (Linux; Android 14) Chrome/126.0 Mobile Safari/537.36"}
    for url, headers, padded in (
        (f"{server}/stream.ogg", browser, True),
        (f"{server}/stream.ogg?pad=1", None, True),
        (f"{server}/stream.ogg?pad=0", browser, False),
        (f"{server}/stream.ogg", {"User-Agent": "VLC/3.0.20 LibVLC/3.0.20"}, False),
    ):
        data = read_http(url, 2.0, headers)
        audio, rate, _ = decode(data)
        bytes_per_s = len(data) / (audio.shape[1] / rate)
        if padded:
            assert bytes_per_s > 0.8 * hub.pad_bytes_per_s, url
            assert best_correlation(audio[0, SR // 2 :], offline_reference()) > 0.9
        else:
            assert bytes_per_s < 0.3 * hub.pad_bytes_per_s, url


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


def test_stalled_listener_is_cut_off_without_growing_or_slowing_others(engine: Engine) -> None:
    """A client that stops reading: its queue stays bounded and drops packets,
    the hub cuts it off after the stall timeout and the server closes its
    connection, while another listener gets the whole stream throughout."""
    hub = StreamHub(RingSource(engine.output_ring.name), queue_packets=20, stall_timeout_s=1.0,
                    pad_bytes_per_s=2_000_000)  # fills the socket buffers within a second or two
    hub.start()
    app = FastAPI()
    app.include_router(listener_router(lambda: hub))
    port = free_port()
    runner = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="critical"))
    threading.Thread(target=runner.run, daemon=True).start()
    try:
        assert wait_until(lambda: runner.started, 10)
        steady: dict[str, bytes] = {}
        reader = threading.Thread(
            target=lambda: steady.update(ogg=read_http(f"http://127.0.0.1:{port}/stream.ogg?pad=0", 6.0))
        )
        reader.start()
        with socket.socket() as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            sock.connect(("127.0.0.1", port))
            sock.sendall(b"GET /stream.ogg?pad=1 HTTP/1.1\r\nHost: x\r\n\r\n")
            assert wait_until(lambda: hub.listener_count == 2, 5)
            stalled = next(item for item in list(hub._listeners) if item.kind == "ogg-padded")
            peak = 0
            # Never read: the queue fills and drops, then the hub cuts the listener off.
            deadline = time.monotonic() + 30
            while stalled in hub._listeners and time.monotonic() < deadline:
                peak = max(peak, stalled.queue.qsize())
                time.sleep(0.05)
            assert stalled not in hub._listeners, "the stalled listener was never cut off"
            assert stalled.stalled and stalled.dropped > 0
            assert peak <= hub.queue_packets
            # The server closed the connection: reading now ends after what was in flight.
            sock.settimeout(10)
            received = 0
            while chunk := sock.recv(65536):
                received += len(chunk)
            assert received > 0
        reader.join(20)
        audio, _, _ = decode(steady["ogg"])
        assert audio.shape[1] > 5 * SR  # the other listener heard all along
        assert best_correlation(audio[0, SR // 2 :], offline_reference()) > 0.9
    finally:
        runner.should_exit = True
        hub.stop()


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
    title = ["Crunch"]
    hub_title, hub.title = hub.title, lambda: title[0]
    source = IcecastSource(target, hub.headers)
    hub.page_sinks.append(source.send)
    source.start()
    mount = f"http://127.0.0.1:{port}/pedal.ogg"
    started, xruns_at_start = time.monotonic(), engine.status()["xruns"]
    try:
        with tempfile.TemporaryDirectory() as folder:
            with icecast(Path(folder), port, password):
                assert wait_until(source.connected.is_set, 10), source.last_error
                time.sleep(0.5)
                data = read_http(mount, 3.0)
                assert ogg_title(data) == "Crunch"
                audio, rate, channels = decode(data)
                assert (rate, channels) == (SR, 1)
                assert best_correlation(audio[0, SR // 2 :], offline_reference()) > 0.9
            # Icecast goes away: the engine does not notice, the source retries
            # and comes back with the preset's name as it is then.
            title[0] = "Lead"
            outage, xruns_before = time.monotonic(), engine.status()["xruns"]
            baseline = (xruns_before - xruns_at_start) / (outage - started)  # per second, this machine now
            assert wait_until(lambda: not source.connected.is_set(), 10)
            with icecast(Path(folder), port, password):
                assert wait_until(source.connected.is_set, 20), source.last_error
                time.sleep(0.5)
                data = read_http(mount, 2.0)
                assert ogg_title(data) == "Lead"
                audio, _, _ = decode(data)
                assert audio.shape[1] > SR
            assert source.connections >= 2
            assert engine.status()["running"]
            # The shared machine has scheduler noise: compare with the rate before the outage.
            rate = (engine.status()["xruns"] - xruns_before) / (time.monotonic() - outage)
            assert rate <= 3 * baseline + 5, (rate, baseline)
    finally:
        hub.title = hub_title
        hub.page_sinks.remove(source.send)
        source.stop()


def ogg_title(data: bytes) -> str:
    with av.open(io.BytesIO(data)) as container:
        metadata = container.streams.audio[0].metadata
        return metadata.get("TITLE", "") or metadata.get("title", "")


def test_icecast_source_backs_off_when_nobody_answers() -> None:
    """Retries wait 0.5 s, doubling to at most 10 s; the queue stays empty meanwhile."""
    target = IcecastTarget.parse(f"icecast://source:pw@127.0.0.1:{free_port()}/pedal.ogg")
    source = IcecastSource(target, b"")
    waits: list[float] = []
    stop = source._stop

    def wait(timeout: float | None = None) -> bool:  # note the wait instead of sleeping it
        waits.append(timeout or 0.0)
        if len(waits) == 8:
            stop.set()
        return stop.is_set()

    stop.wait = wait  # type: ignore[method-assign]
    source._run()  # in this thread: returns after the eighth wait
    assert waits == [0.5, 1.0, 2.0, 4.0, 8.0, 10.0, 10.0, 10.0]
    assert source.attempts == 8 and source.connections == 0
    assert "refused" in source.last_error.lower()
    source.send(b"page")  # not connected: nothing is queued
    assert source._queue.empty()


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
        # Send only once ffmpeg listens (a loaded machine starts it slowly).
        assert wait_until(lambda: udp_port_bound(port), timeout_s=60), "ffmpeg never opened its RTP port"
        signal = offline_reference(1)[: SR * 2].astype(np.float32)[np.newaxis, :] * 0.5
        start = time.perf_counter()
        for i in range(0, signal.shape[1], 64):  # paced like the engine: 64 frames per 1.33 ms
            sender.send(signal[:, i : i + 64])
            while time.perf_counter() < start + (i + 64) / SR:
                time.sleep(0.0003)
        # Until ffmpeg has written every sample (it stops growing if packets were lost).
        expected, last, still = signal.shape[1] * 4, -1, time.monotonic()
        while (size := raw.stat().st_size if raw.exists() else 0) < expected:
            if size != last:
                last, still = size, time.monotonic()
            elif time.monotonic() - still > 2.0:
                break
            time.sleep(0.05)
    finally:
        receiver.terminate()
        receiver.wait(10)
        sender.close()
    received = np.fromfile(raw, dtype=np.float32)
    assert received.size == signal.shape[1]
    np.testing.assert_allclose(received, signal[0], atol=1.0 / 8388608.0 + 1e-9)


def test_the_hub_sends_silence_while_the_engine_gives_nothing() -> None:
    """An engine restart leaves the ring empty: the stream goes on with silence."""

    class Quiet:
        channels = 1

        def read(self, max_frames: int | None = None) -> np.ndarray:
            return np.zeros((1, 0), dtype=np.float32)

    hub = StreamHub(Quiet(), frame_ms=10.0)
    packets: list = []
    hub.packet_sinks.append(packets.append)
    hub.start()
    try:
        assert wait_until(lambda: len(packets) >= 20, 20)
    finally:
        hub.stop()
    assert all(p.samples == 480 for p in packets)
