"""`pedal render`: formats, rates, tails, atomic output and clear errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from pedalboard.presets import build_chain, parse_preset
from pedalboard.signals import guitar_riff

SR = 48000
GAIN_PRESET = {"name": "Quiet", "chain": [{"effect": "gain", "params": {"gain_db": -6.0}}]}


def pedal(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pedalboard", *args], capture_output=True, text=True, cwd=cwd, timeout=300
    )


@pytest.fixture
def preset_file(tmp_path: Path) -> Path:
    path = tmp_path / "quiet.json"
    path.write_text(json.dumps(GAIN_PRESET))
    return path


@pytest.fixture
def guitar_wav(tmp_path: Path) -> Path:
    path = tmp_path / "take.wav"
    sf.write(str(path), 0.5 * guitar_riff(1.0, SR), SR, subtype="PCM_24")
    return path


def test_render_equals_the_chain(tmp_path: Path, guitar_wav: Path, preset_file: Path) -> None:
    out = tmp_path / "out.wav"
    result = pedal("render", str(guitar_wav), "-o", str(out), "--preset", str(preset_file), "-q")
    assert result.returncode == 0, result.stderr
    rendered, rate = sf.read(str(out), dtype="float32")
    source, _ = sf.read(str(guitar_wav), dtype="float32")
    expected = build_chain(parse_preset(GAIN_PRESET)).process(source, SR)
    assert rate == SR and sf.info(str(out)).subtype == "PCM_24"
    np.testing.assert_allclose(rendered, expected, atol=2.0**-22)


def test_batch_stereo_flac_and_resampling(tmp_path: Path, preset_file: Path) -> None:
    stereo = np.stack([guitar_riff(0.5, 44100), guitar_riff(0.5, 44100, seed=3)], axis=1) * 0.4
    sources = []
    for name in ("a.flac", "b.aiff"):
        sources.append(tmp_path / name)
        sf.write(str(sources[-1]), stereo, 44100)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    result = pedal(
        "render",
        *map(str, sources),
        "--out-dir",
        str(out_dir),
        "--preset",
        str(preset_file),
        "--sample-rate",
        "48000",
        "-q",
    )
    assert result.returncode == 0, result.stderr
    for source in sources:
        info = sf.info(str(out_dir / source.name))
        assert (info.samplerate, info.channels) == (48000, 2)
        assert info.frames == pytest.approx(0.5 * 48000, abs=2)
        audio, _ = sf.read(str(out_dir / source.name))
        # -6 dB, and resampling keeps the level (RMS: a peak moves when band-limited)
        rms_in, rms_out = np.sqrt(np.mean(stereo**2)), np.sqrt(np.mean(audio**2))
        assert 20 * np.log10(rms_out / rms_in) == pytest.approx(-6.0, abs=0.1)


def test_delay_tail_is_rendered_to_silence(tmp_path: Path, guitar_wav: Path) -> None:
    preset = tmp_path / "echo.json"
    preset.write_text(
        json.dumps(
            {
                "name": "Echo",
                "chain": [
                    {"effect": "delay", "params": {"delay_seconds": 0.25, "feedback": 0.5, "mix": 0.5}}
                ],
            }
        )
    )
    out = tmp_path / "echo.wav"
    assert pedal("render", str(guitar_wav), "-o", str(out), "-p", str(preset), "-q").returncode == 0
    longer = sf.info(str(out)).frames - sf.info(str(guitar_wav)).frames
    assert longer > 0.5 * SR, "the repeats after the last note should be rendered"
    tail, _ = sf.read(str(out), start=-SR // 20)
    assert np.max(np.abs(tail)) < 10 ** (-80 / 20)
    none = tmp_path / "cut.wav"
    assert (
        pedal(
            "render", str(guitar_wav), "-o", str(none), "-p", str(preset), "--tail", "none", "-q"
        ).returncode
        == 0
    )
    assert sf.info(str(none)).frames == sf.info(str(guitar_wav)).frames


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["missing.wav", "-o", "x.wav", "-p", "clean"], "input file not found: missing.wav"),
        (["take.wav", "-o", "x.wav", "-p", "no-such-preset"], "unknown preset 'no-such-preset'"),
        (
            ["take.wav", "-o", "x.wav", "-p", "quiet.json", "--set", "gain.gain_db=99"],
            "gain_db = 99.0 is not allowed: [-60, 24] dB",
        ),
        (["take.wav", "-o", "x.wav", "-p", "quiet.json", "--set", "nope.x=1"], "no effect slot 'nope'"),
        (["take.wav", "-o", "x.xyz", "-p", "quiet.json"], "unknown audio format '.xyz'"),
        (["take.wav", "-o", "take.wav", "-p", "quiet.json"], "refusing to overwrite the input"),
        (["notaudio.wav", "-o", "x.wav", "-p", "quiet.json"], "cannot read audio from notaudio.wav"),
        (["take.wav", "-p", "quiet.json"], "give either -o OUTPUT"),
    ],
)
def test_bad_input_gives_one_clear_line(
    tmp_path: Path, guitar_wav: Path, preset_file: Path, args: list[str], message: str
) -> None:
    (tmp_path / "notaudio.wav").write_text("this is not audio")
    before = guitar_wav.read_bytes()
    result = pedal("render", *args, "-q", cwd=tmp_path)
    assert result.returncode != 0
    assert message in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert len(result.stderr.strip().splitlines()) <= 2
    assert guitar_wav.read_bytes() == before, "the input must never change"
    assert not (tmp_path / "x.wav").exists()
    assert not list(tmp_path.glob(".*.part")), "no temporary file may be left behind"


def test_demo_renders_the_bundled_clip(tmp_path: Path) -> None:
    result = pedal("demo", "--preset", "clean", "-o", str(tmp_path / "demo.wav"))
    assert result.returncode == 0, result.stderr
    assert "demo.wav" in result.stdout
    audio, rate = sf.read(str(tmp_path / "demo.wav"))
    assert rate == 48000 and audio.shape[0] > 10 * rate and np.max(np.abs(audio)) > 0.05


def test_streamed_file_render_equals_the_in_memory_render(tmp_path: Path) -> None:
    """A file at its own rate is rendered block by block from disk to disk (its
    memory does not grow with its length); it must equal the whole-array
    render, tail included, in stereo."""
    from pedalboard.render import render_array, render_file

    preset = parse_preset({"name": "Echo", "chain": [
        {"effect": "chorus"},
        {"effect": "delay", "params": {"delay_seconds": 0.2, "feedback": 0.4, "mix": 0.4,
                                       "ping_pong": True}}]})
    # 3.1 s: two whole reads of IO_BLOCK frames and a partial one.
    stereo = np.stack([guitar_riff(3.1, SR), guitar_riff(3.1, SR, seed=5)]).astype(np.float32) * 0.4
    source = tmp_path / "take.wav"
    sf.write(str(source), stereo.T, SR, subtype="FLOAT")
    result = render_file(build_chain(preset), source, tmp_path / "out.wav")
    rendered, _ = sf.read(str(tmp_path / "out.wav"), dtype="float32", always_2d=True)
    expected = render_array(build_chain(preset), stereo, SR)
    assert rendered.T.shape == expected.shape and expected.shape[1] > stereo.shape[1] + SR // 2
    np.testing.assert_array_equal(rendered.T, expected)
    assert (result.channels, result.frames) == expected.shape
    assert result.peak_dbfs == pytest.approx(20 * np.log10(np.max(np.abs(expected))), abs=1e-4)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporary left


def test_a_failed_render_leaves_no_output(tmp_path: Path, guitar_wav: Path) -> None:
    from pedalboard.errors import AudioFileError
    from pedalboard.render import render_file

    class Broken:
        """A chain that fails half-way, like a full disk would."""

        def __init__(self) -> None:
            self.chain = build_chain(parse_preset(GAIN_PRESET))
            self.blocks = 0

        def __getattr__(self, name: str):
            return getattr(self.chain, name)

        def process_inplace(self, block: np.ndarray) -> None:
            self.blocks += 1
            if self.blocks == 3:
                raise OSError("No space left on device")
            self.chain.process_inplace(block)

    out = tmp_path / "out.wav"
    with pytest.raises(AudioFileError, match="No space left"):
        render_file(Broken(), guitar_wav, out)  # type: ignore[arg-type]
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["take.wav"]


def test_a_write_that_fails_on_the_writer_thread(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Blocks are written on a thread of their own; its failure still ends the
    render with one clear error and no output."""
    from pedalboard.errors import AudioFileError
    from pedalboard.render import IO_BLOCK, render_file

    source = tmp_path / "take.wav"
    sf.write(str(source), 0.5 * guitar_riff(3 * IO_BLOCK / SR, SR), SR, subtype="FLOAT")
    calls = []

    def failing_write(self: sf.SoundFile, data: np.ndarray) -> None:
        calls.append(len(data))
        raise sf.LibsndfileError(0, prefix="Error writing: disk full ")

    monkeypatch.setattr(sf.SoundFile, "write", failing_write)
    out = tmp_path / "out.wav"
    with pytest.raises(AudioFileError, match="disk full"):
        render_file(build_chain(parse_preset(GAIN_PRESET)), source, out)
    assert calls and not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["take.wav"]


def test_a_folder_of_takes_with_a_broken_one(tmp_path: Path, preset_file: Path) -> None:
    """The producer's batch: a folder stands for its audio files; a broken
    file is reported by name and skipped, the others are rendered, the exit
    code is non-zero."""
    takes = tmp_path / "takes"
    takes.mkdir()
    for name in ("01.wav", "02.flac"):
        sf.write(str(takes / name), 0.3 * guitar_riff(0.3, SR), SR)
    (takes / "03.wav").write_bytes(b"RIFF not really")
    (takes / "notes.txt").write_text("not audio, not rendered")
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    result = pedal("render", str(takes), "--out-dir", str(out_dir), "-p", str(preset_file), "-q")
    assert result.returncode == 2
    assert "cannot read audio from" in result.stderr and "03.wav" in result.stderr
    assert "1 of 3 files failed: 03.wav" in result.stderr and "Traceback" not in result.stderr
    assert sorted(p.name for p in out_dir.iterdir()) == ["01.wav", "02.flac"]
    empty = tmp_path / "empty"
    empty.mkdir()
    result = pedal("render", str(empty), "--out-dir", str(out_dir), "-p", str(preset_file), "-q")
    assert result.returncode == 2 and "no audio files in this folder" in result.stderr
    other = tmp_path / "other"
    other.mkdir()
    sf.write(str(other / "01.wav"), 0.3 * guitar_riff(0.3, SR), SR)
    result = pedal("render", str(takes / "01.wav"), str(other / "01.wav"), "--out-dir", str(out_dir),
                   "-p", str(preset_file), "-q")
    assert result.returncode == 2 and "would both be written to" in result.stderr


def test_a_batch_on_two_cores_equals_one_by_one(tmp_path: Path, preset_file: Path) -> None:
    takes = tmp_path / "takes"
    takes.mkdir()
    for index in range(3):
        sf.write(str(takes / f"{index}.wav"), 0.3 * guitar_riff(0.4, SR, seed=index), SR, subtype="FLOAT")
    (takes / "3.wav").write_bytes(b"RIFF broken")
    serial, parallel = tmp_path / "serial", tmp_path / "parallel"
    serial.mkdir()
    parallel.mkdir()
    one = pedal("render", str(takes), "--out-dir", str(serial), "-p", "crunch", "-q")
    two = pedal("render", str(takes), "--out-dir", str(parallel), "-p", "crunch", "-q", "--jobs", "2")
    assert one.returncode == two.returncode == 2
    assert "1 of 4 files failed: 3.wav" in two.stderr and "Traceback" not in two.stderr
    assert sorted(p.name for p in parallel.iterdir()) == ["0.wav", "1.wav", "2.wav"]
    for index in range(3):
        a, _ = sf.read(str(serial / f"{index}.wav"), dtype="float32")
        b, _ = sf.read(str(parallel / f"{index}.wav"), dtype="float32")
        np.testing.assert_array_equal(a, b)
