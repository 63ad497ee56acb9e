"""The tuner: pitch within a cent on sines and plucked strings, note names and
cents against equal temperament, silence and noise give no reading, and the
effect passes (or mutes) audio while another thread reads the pitch."""

from __future__ import annotations

import subprocess
import threading
import time
from pathlib import Path

import mido
import numpy as np
import pytest
import soundfile as sf

from pedalboard.effects.tuner import Tuner, detect_pitch
from pedalboard.signals import OPEN_STRINGS_HZ, note_frequency, pluck, sine

SR = 48000
WINDOW = 4096
NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")


def _cents(measured_hz: float, true_hz: float) -> float:
    return 1200.0 * float(np.log2(measured_hz / true_hz))


def _name(midi: int) -> str:
    return f"{NAMES[midi % 12]}{midi // 12 - 1}"


# Drop D (D2, 73.4 Hz), the E2..E4 open strings, the 12th and 24th frets, up to
# E6 (1318.5 Hz) on a 24-fret neck and F6 (1397 Hz).
NOTES = [38, 40, 45, 50, 55, 59, 64, 52, 57, 62, 67, 71, 76, 69, 81, 84, 86, 88, 89, 83, 72, 60]


@pytest.mark.parametrize("midi", NOTES)
@pytest.mark.parametrize("detune_cents", [0.0, -17.0, 33.0, 49.0])
def test_sines_within_one_cent(midi: int, detune_cents: float) -> None:
    true_hz = note_frequency(midi + detune_cents / 100.0)
    for start in (0, 777, 3001):  # arbitrary phases
        window = sine(true_hz, 0.2, SR, amplitude=0.3)[start : start + WINDOW]
        reading = detect_pitch(window, SR)
        assert reading is not None
        assert abs(_cents(reading.frequency_hz, true_hz)) < 1.0
        assert reading.note == _name(midi) and reading.midi_note == midi
        assert reading.cents == pytest.approx(detune_cents, abs=1.0)
        assert reading.clarity > 0.99


@pytest.mark.parametrize("midi", [37, 38, 40, 45, 64, 88, 89])
def test_a_2048_sample_window_is_enough_from_70_hz_to_1_4_khz(midi: int) -> None:
    true_hz = note_frequency(midi)  # C#2 69.3 Hz .. F6 1397 Hz
    for signal in (sine(true_hz, 0.1, SR)[:2048], pluck(true_hz, 0.2, SR, seed=1)[2400:4448]):
        reading = detect_pitch(signal, SR)
        assert reading is not None and reading.note == _name(midi)
        assert abs(_cents(reading.frequency_hz, true_hz)) < 1.0


def test_open_strings_read_their_names() -> None:
    for true_hz, name in zip(OPEN_STRINGS_HZ, ("E2", "A2", "D3", "G3", "B3", "E4"), strict=True):
        reading = detect_pitch(sine(true_hz, 0.1, SR)[:WINDOW], SR)
        assert reading is not None and reading.note == name
        assert abs(reading.cents) < 1.0


def test_a_flat_string_reads_the_note_below_the_half_way_point() -> None:
    """60 cents flat of A2 is 40 cents sharp of G#2."""
    reading = detect_pitch(sine(note_frequency(45 - 0.6), 0.1, SR)[:WINDOW], SR)
    assert reading is not None
    assert reading.note == "G#2" and reading.cents == pytest.approx(40.0, abs=1.0)


@pytest.mark.parametrize("midi", [38, *range(40, 89, 3)])
def test_plucked_strings_within_one_cent_across_the_neck(midi: int) -> None:
    true_hz = note_frequency(midi)
    string = pluck(true_hz, 0.5, SR, seed=midi)
    # Just after the pick attack, a little later, and as the note decays.
    for start in (1200, 4800, 9600):
        reading = detect_pitch(string[start : start + WINDOW], SR)
        assert reading is not None, f"no reading at {start}"
        assert abs(_cents(reading.frequency_hz, true_hz)) < 1.0
        assert reading.note == _name(midi)


def test_a_sampled_electric_guitar_reads_its_notes(tmp_path: Path) -> None:
    """Real recorded guitar tones (General MIDI "Electric Guitar (clean)" from
    the TimGM6mb soundfont, rendered by fluidsynth), open strings to E6. The
    samples themselves are tuned a few cents sharp, so the names must be
    exact and the cents small, not zero."""
    notes = [40, 45, 50, 55, 59, 64, 69, 76, 81, 88]
    song = mido.MidiFile(ticks_per_beat=480)
    track = mido.MidiTrack()
    song.tracks.append(track)
    track.append(mido.Message("program_change", program=27, time=0))
    for note in notes:  # one second each at the default 120 bpm
        track.append(mido.Message("note_on", note=note, velocity=100, time=0))
        track.append(mido.Message("note_off", note=note, velocity=0, time=960))
    song.save(tmp_path / "notes.mid")
    subprocess.run(
        ["fluidsynth", "-ni", "-g", "1.0", "-r", str(SR), "-F", str(tmp_path / "notes.wav"),
         "/usr/share/sounds/sf2/TimGM6mb.sf2", str(tmp_path / "notes.mid")],
        check=True, capture_output=True, timeout=60,
    )
    audio, rate = sf.read(tmp_path / "notes.wav")
    mono = audio.mean(axis=1) if audio.ndim > 1 else audio
    for i, note in enumerate(notes):
        for offset_s in (0.1, 0.3, 0.6):
            start = int((i + offset_s) * rate)
            reading = detect_pitch(mono[start : start + WINDOW], rate)
            assert reading is not None, f"{_name(note)} at {offset_s} s"
            assert reading.note == _name(note)
            assert abs(reading.cents) < 6.0


@pytest.mark.parametrize("detune_cents", [-30.0, -5.0, 12.0, 45.0])
def test_detuned_plucks_read_their_cents(detune_cents: float) -> None:
    for midi in (40, 47, 59, 71):  # low E, B2, B3, B4
        string = pluck(note_frequency(midi + detune_cents / 100), 0.3, SR, seed=3)
        reading = detect_pitch(string[2400 : 2400 + WINDOW], SR)
        assert reading is not None and reading.note == _name(midi)
        assert reading.cents == pytest.approx(detune_cents, abs=1.0)


@pytest.mark.parametrize("midi", [38, 40, 52, 64, 76, 88])
def test_harmonic_rich_tones_read_their_fundamental(midi: int) -> None:
    """No octave errors: a sawtooth, a square (odd harmonics only) and a tone
    whose second harmonic is five times its fundamental, as a bridge pickup
    or a fuzz makes them."""
    f = note_frequency(midi)
    t = np.arange(WINDOW) / SR
    harmonics = [k for k in range(1, 40) if k * f < 20000]
    saw = sum((-1) ** k * np.sin(2 * np.pi * k * f * t + 0.3) / k for k in harmonics)
    square = sum(np.sin(2 * np.pi * k * f * t) / k for k in harmonics if k % 2)
    weak = (0.2 * np.sin(2 * np.pi * f * t) + np.sin(4 * np.pi * f * t + 1)
            + 0.6 * np.sin(6 * np.pi * f * t + 2))
    for tone in (saw, square, weak):
        reading = detect_pitch(0.3 * tone, SR)
        assert reading is not None and reading.note == _name(midi)
        assert abs(_cents(reading.frequency_hz, f)) < 1.0


def test_silence_and_noise_give_no_reading(rng: np.random.Generator) -> None:
    assert detect_pitch(np.zeros(WINDOW), SR) is None
    assert detect_pitch(1e-6 * rng.standard_normal(WINDOW), SR) is None  # -120 dBFS hiss
    assert detect_pitch(0.3 * rng.standard_normal(WINDOW), SR) is None  # loud white noise
    bad = sine(110.0, 0.1, SR)[:WINDOW]
    bad[100] = np.nan
    assert detect_pitch(bad, SR) is None


def test_reference_pitch_changes_names_and_cents() -> None:
    reading = detect_pitch(sine(432.0, 0.1, SR)[:WINDOW], SR, a4_hz=432.0)
    assert reading is not None and reading.note == "A4"
    assert reading.cents == pytest.approx(0.0, abs=1.0)
    reading = detect_pitch(sine(440.0, 0.1, SR)[:WINDOW], SR, a4_hz=432.0)
    assert reading is not None and reading.note == "A4"
    assert reading.cents == pytest.approx(1200 * np.log2(440 / 432), abs=1.0)  # +31.8


# ------------------------------------------------------------------ effect
def test_tuner_passes_audio_unchanged_and_reads_the_pitch() -> None:
    tuner = Tuner()
    signal = (0.5 * pluck(note_frequency(45), 0.5, SR)).astype(np.float32)
    out = tuner.process(signal, SR)
    np.testing.assert_array_equal(out, signal)
    reading = tuner.reading()
    assert reading is not None and reading.note == "A2"
    assert abs(reading.cents) < 1.0


def test_reference_parameter_reaches_the_reading() -> None:
    tuner = Tuner(a4_hz=442.0)
    tuner.process(sine(442.0, 0.2, SR).astype(np.float32), SR)
    reading = tuner.reading()
    assert reading is not None and reading.note == "A4" and abs(reading.cents) < 1.0


def test_mute_fades_out_without_a_click_and_back_in() -> None:
    tuner = Tuner()
    tone = sine(196.0, 0.5, SR).astype(np.float32)[np.newaxis, :]
    out = tone.copy()
    tuner.prepare(SR, 1, 64)
    tuner.reset()
    for start in range(0, out.shape[1], 64):
        if start == 64 * 100:
            tuner.mute = True
        if start == 64 * 250:
            tuner.mute = False
        tuner.process_inplace(out[:, start : start + 64])
    fade = int(0.005 * SR)
    np.testing.assert_array_equal(out[0, : 6400], tone[0, :6400])
    assert np.all(out[0, 6400 + fade : 16000] == 0.0)  # silent while muted
    np.testing.assert_array_equal(out[0, 16000 + fade :], tone[0, 16000 + fade :])
    gain_step = np.max(np.abs(np.diff(out[0]))) - np.max(np.abs(np.diff(tone[0])))
    assert gain_step < 1.0 / fade + 1e-3  # the gain moves 1/fade per sample at most
    # Muted, the tuner still hears the string.
    reading = tuner.reading()
    assert reading is not None and reading.note == "G3"


def test_silence_reads_none_and_unprepared_reads_none() -> None:
    tuner = Tuner()
    assert tuner.reading() is None
    tuner.process(np.zeros(SR // 4, dtype=np.float32), SR)
    assert tuner.reading() is None


def test_reading_from_another_thread_while_audio_runs() -> None:
    """The audio thread writes 64-frame blocks while a UI thread reads: every
    reading is either None (not enough sound yet) or the right note."""
    tuner = Tuner()
    tuner.prepare(SR, 2, 64)
    tuner.reset()
    true_hz = note_frequency(52 + 0.2)  # E3, 20 cents sharp
    string = pluck(true_hz, 1.0, SR, decay_s=4.0).astype(np.float32)
    audio = np.stack([string, string])
    readings = []
    done = threading.Event()

    def ui() -> None:
        while not done.is_set():
            readings.append(tuner.reading())

    reader = threading.Thread(target=ui)
    reader.start()
    try:
        for start in range(0, audio.shape[1], 64):
            tuner.process_inplace(audio[:, start : start + 64])
            time.sleep(0.0002)  # an audio callback waits for the next period
    finally:
        done.set()
        reader.join()
    final = tuner.reading()
    assert final is not None and final.note == "E3"
    assert final.cents == pytest.approx(20.0, abs=1.0)
    notes = {r.note for r in readings if r is not None}
    assert notes == {"E3"}  # read while running, never a wrong note
