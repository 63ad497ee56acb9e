"""Write the bundled guitar-cabinet impulse responses to ``pedalboard/data/``.

A guitar speaker in a cabinet is, to a good approximation, a linear filter
with a few well-known features, and that is how these IRs are built: a unit
impulse through a cascade of minimum-phase IIR sections (scipy.signal), plus
delayed copies for the room, trimmed and faded. 48 kHz, mono, float WAV,
80 ms (3840 samples, about 15 kB each).

Recipe (every number below is what ``tests/effects/test_cabinet.py`` checks):

1. **Speaker resonance** (cone mass on the suspension and the air in the
   box): a resonant second-order high-pass whose response *peaks* at the
   resonance, 12 dB/octave below it.
   * 4x12 closed back: peak at 100 Hz, Q 1.6 -- the sealed box stiffens
     the suspension: a tight bump and a steep bass roll-off.
   * 1x12 open back: 80 Hz, Q 1.4, plus a first-order high-pass at 60 Hz
     -- the open back lets the back wave cancel the front one at low
     frequencies (a dipole), so the bass is lighter; together the low peak
     lands at 87 Hz, 4 dB lower (relative to the break-up) than the 4x12's.
2. **Low-mid honk / scoop**: closed 4x12 -3 dB at 500 Hz (Q 1); open 1x12
   +2 dB at 700 Hz (Q 1), its characteristic "chime".
3. **Cone break-up**: above a couple of kHz the paper cone stops moving as a
   piston and rings in modes; peaks of +7 dB at 2.6 kHz (Q 2.5) and +5 dB at
   3.8 kHz (Q 3) for the 4x12, +6 dB at 2.2 kHz (Q 2) and +5 dB at 3.3 kHz
   (Q 3) for the 1x12.
4. **Roll-off**: an 8th-order Butterworth low-pass at 5 kHz (4x12) or 5.5
   kHz (1x12): 48 dB/octave, the steep top end that makes a guitar speaker
   hide the fizz of a distortion pedal.
5. **Early reflections** (1x12 open back only, a close microphone hears
   them weakly): the floor bounce 1.9 ms later at -12 dB, the back wave off
   the wall behind the cabinet 3.4 ms later at -15 dB with inverted
   polarity, a side wall 5.1 ms later at -20 dB.
6. **Trim and level**: 80 ms long, the last 10 ms faded with a half Hann
   window, scaled so the largest gain of the magnitude response is 0 dB
   (the cabinet never makes any frequency louder).

Run: ``.venv/bin/python scripts/make_irs.py`` (rewrites the two files).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy import signal

SAMPLE_RATE = 48000
LENGTH_SECONDS = 0.080
FADE_SECONDS = 0.010
DATA_DIR = Path(__file__).resolve().parent.parent / "pedalboard" / "data"


@dataclass(frozen=True)
class CabinetRecipe:
    """The physical-ish description of one cabinet (see the module docstring)."""

    file_name: str
    resonance_hz: float
    resonance_q: float
    dipole_hz: float | None
    peaks: tuple[tuple[float, float, float], ...]  # (frequency_hz, gain_db, q)
    lowpass_hz: float
    reflections: tuple[tuple[float, float], ...] = field(default=())  # (ms, gain)


CABINETS = (
    CabinetRecipe(
        "cab_4x12_closed.wav", 100.0, 1.6, None,
        ((500.0, -3.0, 1.0), (2600.0, 7.0, 2.5), (3800.0, 5.0, 3.0)), 5000.0,
    ),
    CabinetRecipe(
        "cab_1x12_open.wav", 80.0, 1.4, 60.0,
        ((700.0, 2.0, 1.0), (2200.0, 6.0, 2.0), (3300.0, 5.0, 3.0)), 5500.0,
        ((1.9, 0.25), (3.4, -0.18), (5.1, 0.1)),
    ),
)


def _peak_sos(frequency_hz: float, gain_db: float, q: float) -> np.ndarray:
    """RBJ peaking EQ as one second-order section."""
    a = 10 ** (gain_db / 40)
    w0 = 2 * np.pi * frequency_hz / SAMPLE_RATE
    alpha = np.sin(w0) / (2 * q)
    b = [1 + alpha * a, -2 * np.cos(w0), 1 - alpha * a]
    den = [1 + alpha / a, -2 * np.cos(w0), 1 - alpha / a]
    return np.concatenate([np.array(b) / den[0], np.array(den) / den[0]])[np.newaxis]


def _resonant_highpass_sos(frequency_hz: float, q: float) -> np.ndarray:
    """RBJ high-pass with a resonant peak of about Q near the corner."""
    w0 = 2 * np.pi * frequency_hz / SAMPLE_RATE
    alpha = np.sin(w0) / (2 * q)
    cw = np.cos(w0)
    b = [(1 + cw) / 2, -(1 + cw), (1 + cw) / 2]
    den = [1 + alpha, -2 * cw, 1 - alpha]
    return np.concatenate([np.array(b) / den[0], np.array(den) / den[0]])[np.newaxis]


def cabinet_ir(recipe: CabinetRecipe) -> np.ndarray:
    """The impulse response of one cabinet, float32, peak response 0 dB."""
    frames = round(LENGTH_SECONDS * SAMPLE_RATE)
    # A resonant high-pass peaks above its corner: put the corner where the
    # peak lands on the speaker's resonance.
    q = recipe.resonance_q
    corner = recipe.resonance_hz * np.sqrt(1 - 1 / (2 * q * q))
    sections = [_resonant_highpass_sos(corner, q)]
    if recipe.dipole_hz:
        sections.append(signal.butter(1, recipe.dipole_hz, "highpass", fs=SAMPLE_RATE,
                                      output="sos"))
    sections += [_peak_sos(*peak) for peak in recipe.peaks]
    sections.append(signal.butter(8, recipe.lowpass_hz, "lowpass", fs=SAMPLE_RATE,
                                  output="sos"))
    sos = np.concatenate(sections)
    impulse = np.zeros(frames)
    impulse[0] = 1.0
    for delay_ms, gain in recipe.reflections:
        impulse[round(delay_ms * 1e-3 * SAMPLE_RATE)] += gain
    ir = signal.sosfilt(sos, impulse)
    fade = round(FADE_SECONDS * SAMPLE_RATE)
    ir[-fade:] *= np.cos(np.linspace(0, np.pi / 2, fade)) ** 2
    response = np.abs(np.fft.rfft(ir, 1 << 16))
    return (ir / response.max()).astype(np.float32)


def main() -> None:
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    for recipe in CABINETS:
        path = DATA_DIR / recipe.file_name
        sf.write(path, cabinet_ir(recipe), SAMPLE_RATE, subtype="FLOAT")
        print(f"wrote {path} ({path.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
