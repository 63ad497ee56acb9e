"""Cabinet: convolution equal to scipy's for any block size, IR files, the bundled IRs' shape."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import soxr
from scipy.signal import fftconvolve

from pedalboard.effects.cabinet import BUNDLED_IRS, DATA_DIR, PARTITION, Cabinet
from pedalboard.effects.convolution import Convolution
from pedalboard.errors import AudioFileError
from pedalboard.signals import guitar_riff

SR = 48000
ROOT = Path(__file__).resolve().parents[2]


def run_in_blocks(effect: Cabinet, audio: np.ndarray, block: int) -> np.ndarray:
    out = np.array(audio, dtype=np.float32, ndmin=2)
    effect.prepare(SR, out.shape[0], max(block, 64))
    effect.reset()
    for start in range(0, out.shape[1], block):
        effect.process_inplace(out[:, start : start + block])
    return out


def reference(x: np.ndarray, ir: np.ndarray) -> np.ndarray:
    return fftconvolve(x.astype(np.float64), ir)[: len(x)]


@pytest.mark.parametrize("ir", list(BUNDLED_IRS))
@pytest.mark.parametrize("block", [1, 17, 64, PARTITION, 1000, 4096])
def test_output_is_scipys_convolution_for_any_block_size(ir: str, block: int) -> None:
    seconds = 0.15 if block == 1 else 0.6
    x = guitar_riff(seconds, SR).astype(np.float32)
    effect = Cabinet(ir=ir)
    out = run_in_blocks(effect, x, block)[0]
    h = sf.read(DATA_DIR / BUNDLED_IRS[ir])[0]
    assert np.max(np.abs(out - reference(x, h))) < 1e-5


def test_stereo_channels_are_convolved_independently() -> None:
    left = guitar_riff(0.5, SR)
    right = np.random.default_rng(4).standard_normal(len(left)) * 0.3
    out = Cabinet().process(np.stack([left, right]), SR)
    h = Cabinet().impulse_response()
    assert np.max(np.abs(out[0] - reference(left, h))) < 1e-5
    assert np.max(np.abs(out[1] - reference(right, h))) < 1e-5


def test_zero_latency_an_impulse_gives_the_ir_from_sample_zero() -> None:
    effect = Cabinet(ir="1x12_open")
    x = np.zeros(SR // 5, dtype=np.float32)
    x[0] = 1.0
    out = effect.process(x, SR)
    h = effect.impulse_response()
    assert effect.latency == 0
    assert np.max(np.abs(out[: len(h)] - h)) < 1e-6
    assert np.max(np.abs(out[len(h) :])) < 1e-6


def test_mix_and_level() -> None:
    x = guitar_riff(0.4, SR).astype(np.float32)
    wet = Cabinet().process(x, SR)
    assert np.max(np.abs(Cabinet(mix=0.0).process(x, SR) - x)) < 1e-7
    blend = Cabinet(mix=0.25, level_db=-6.0).process(x, SR)
    assert np.max(np.abs(blend - 10 ** (-6 / 20) * (0.25 * wet + 0.75 * x))) < 1e-6


@pytest.mark.parametrize(("ir_rate", "taps"), [(48000, 100), (48000, 7000), (44100, 2000),
                                               (96000, 3000)])
def test_user_ir_file_any_length_and_rate(tmp_path: Path, ir_rate: int, taps: int) -> None:
    rng = np.random.default_rng(taps)
    ir = rng.standard_normal(taps) * np.exp(-np.arange(taps) / (taps / 4)) * 0.1
    path = tmp_path / "ir.wav"
    sf.write(path, np.stack([ir, ir], axis=1), ir_rate, subtype="FLOAT")  # stereo file
    effect = Cabinet(impulse_response_filename=str(path))
    x = guitar_riff(0.5, SR).astype(np.float32)
    out = effect.process(x, SR)
    stored = sf.read(path)[0][:, 0]
    expected_ir = stored if ir_rate == SR else soxr.resample(stored, ir_rate, SR, "VHQ") * (
        ir_rate / SR)
    assert np.max(np.abs(out - reference(x, expected_ir))) < 1e-5


def test_resampled_ir_keeps_its_frequency_response(tmp_path: Path) -> None:
    h = sf.read(DATA_DIR / BUNDLED_IRS["4x12_closed"])[0]
    path = tmp_path / "cab44.wav"
    sf.write(path, soxr.resample(h, SR, 44100, "VHQ") * (SR / 44100), 44100, subtype="FLOAT")
    back = Cabinet(impulse_response_filename=str(path))
    back.prepare(SR, 1)
    f = np.array([100.0, 500.0, 1000.0, 2600.0, 4000.0, 6000.0])
    original = np.abs(np.fft.rfft(h, SR))[f.astype(int)]
    round_trip = np.abs(np.fft.rfft(back.impulse_response(), SR))[f.astype(int)]
    assert 20 * np.log10(round_trip / original) == pytest.approx(np.zeros(len(f)), abs=0.1)


def test_missing_ir_file_is_a_clear_error(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "cab.wav"
    with pytest.raises(AudioFileError, match=str(missing)):
        Cabinet(impulse_response_filename=str(missing))
    effect = Cabinet(ir="1x12_open")
    with pytest.raises(AudioFileError, match=r"cab\.wav"):
        effect.impulse_response_filename = str(missing)
    # The effect keeps its last good IR, and says so.
    assert effect.impulse_response_filename == ""
    x = guitar_riff(0.2, SR).astype(np.float32)
    h = sf.read(DATA_DIR / BUNDLED_IRS["1x12_open"])[0]
    assert np.max(np.abs(effect.process(x, SR) - reference(x, h))) < 1e-5


def test_unreadable_ir_file_is_a_clear_error(tmp_path: Path) -> None:
    bogus = tmp_path / "notes.wav"
    bogus.write_text("this is not audio")
    with pytest.raises(AudioFileError, match=r"notes\.wav"):
        Cabinet(impulse_response_filename=str(bogus))


def test_convolution_is_spotifys_name_for_the_same_effect(tmp_path: Path) -> None:
    path = tmp_path / "ir.wav"
    sf.write(path, np.array([0.5, 0.25, -0.125]), SR, subtype="FLOAT")
    x = guitar_riff(0.2, SR).astype(np.float32)
    out = Convolution(impulse_response_filename=str(path), mix=1.0).process(x, SR)
    assert np.max(np.abs(out - reference(x, np.array([0.5, 0.25, -0.125])))) < 1e-6


# ---------------------------------------------------------- bundled IRs
#: What scripts/make_irs.py documents: the low resonance peak and the break-up band.
DOCUMENTED = {"4x12_closed": (100.0, (2000.0, 4000.0)), "1x12_open": (87.0, (2000.0, 4000.0))}


def response_db(ir: str) -> tuple[np.ndarray, np.ndarray]:
    h, rate = sf.read(DATA_DIR / BUNDLED_IRS[ir])
    assert rate == SR
    n = 1 << 16
    return np.fft.rfftfreq(n, 1 / SR), 20 * np.log10(np.abs(np.fft.rfft(h, n)) + 1e-12)


@pytest.mark.parametrize("ir", list(BUNDLED_IRS))
def test_bundled_ir_files_are_small_float_mono_48k(ir: str) -> None:
    path = DATA_DIR / BUNDLED_IRS[ir]
    info = sf.info(str(path))
    assert (info.samplerate, info.channels, info.subtype) == (48000, 1, "FLOAT")
    assert 0.040 <= info.duration <= 0.100
    assert path.stat().st_size < 50_000


@pytest.mark.parametrize("ir", list(BUNDLED_IRS))
def test_bundled_ir_has_the_documented_response(ir: str) -> None:
    resonance_hz, breakup = DOCUMENTED[ir]
    f, db = response_db(ir)
    low = (f > 40) & (f < 300)
    peak_hz = f[low][np.argmax(db[low])]
    assert peak_hz == pytest.approx(resonance_hz, rel=0.08)
    at = lambda hz: db[np.argmin(np.abs(f - hz))]  # noqa: E731
    # 12 dB/octave below the resonance: an octave down is at least 9 dB lower.
    assert at(resonance_hz / 2) < at(resonance_hz) - 9
    # The loudest point is the cone break-up, normalised to 0 dB.
    assert breakup[0] <= f[np.argmax(db)] <= breakup[1]
    assert db.max() == pytest.approx(0.0, abs=0.01)
    # Steep roll-off: an octave above 5 kHz is 40 dB down, 10 kHz 55 dB down.
    assert at(5000) - at(10000) > 35
    assert at(10000) < -55


def test_bundled_irs_are_what_the_script_makes() -> None:
    spec = importlib.util.spec_from_file_location("make_irs", ROOT / "scripts" / "make_irs.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["make_irs"] = module  # dataclasses look their module up
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules["make_irs"]
    for recipe in module.CABINETS:
        stored = sf.read(DATA_DIR / recipe.file_name, dtype="float32")[0]
        assert np.array_equal(stored, module.cabinet_ir(recipe))
