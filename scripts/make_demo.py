"""Make the bundled demo guitar clip (pedalboard/data/demo_guitar.flac).

A short riff written here as MIDI (mido), played by Debian's fluidsynth with
the General MIDI "Electric Guitar (clean)" (program 28) of the TimGM6mb
soundfont, mixed to mono at 48 kHz and normalised to -3 dBFS. Nobody's
recording: anybody can make it again with this script.

    .venv/bin/python scripts/make_demo.py
"""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

import mido
import numpy as np
import soundfile as sf

SOUNDFONT = Path("/usr/share/sounds/sf2/TimGM6mb.sf2")
OUTPUT = Path(__file__).resolve().parents[1] / "pedalboard" / "data" / "demo_guitar.flac"
TEMPO_BPM = 100
# (beat, duration in beats, MIDI notes, velocity): an E-minor riff, a few chords, a bend-free lick.
RIFF = [
    (0.0, 0.5, [40], 100),
    (0.5, 0.5, [47], 90),
    (1.0, 0.5, [52], 95),
    (1.5, 0.5, [55], 90),
    (2.0, 0.5, [52], 95),
    (2.5, 0.5, [47], 85),
    (3.0, 1.0, [40, 47, 52], 110),
    (4.0, 0.5, [43], 100),
    (4.5, 0.5, [50], 90),
    (5.0, 0.5, [55], 95),
    (5.5, 0.5, [59], 90),
    (6.0, 0.5, [55], 95),
    (6.5, 0.5, [50], 85),
    (7.0, 1.0, [43, 50, 55], 110),
    (8.0, 2.0, [40, 47, 52, 55, 59, 64], 115),
    (10.0, 2.0, [45, 52, 57, 60, 64], 110),
    (12.0, 0.25, [64], 100),
    (12.25, 0.25, [67], 100),
    (12.5, 0.25, [69], 105),
    (12.75, 0.25, [71], 110),
    (13.0, 0.5, [74], 110),
    (13.5, 0.5, [71], 100),
    (14.0, 2.0, [69], 105),
]


def riff_midi(path: Path) -> None:
    track = mido.MidiTrack()
    ticks = 480
    track.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(TEMPO_BPM)))
    track.append(mido.Message("program_change", program=27, channel=0))
    events = []
    for beat, length, notes, velocity in RIFF:
        for k, note in enumerate(notes):
            strum = k * 0.02  # a strummed chord, low to high
            events.append((beat + strum, "note_on", note, velocity))
            events.append((beat + length, "note_off", note, 0))
    events.sort(key=lambda e: (e[0], e[1] == "note_on"))
    now = 0
    for beat, kind, note, velocity in events:
        tick = round(beat * ticks)
        track.append(mido.Message(kind, note=note, velocity=velocity, time=tick - now, channel=0))
        now = tick
    song = mido.MidiFile(ticks_per_beat=ticks)
    song.tracks.append(track)
    song.save(str(path))


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        midi = Path(folder) / "riff.mid"
        wav = Path(folder) / "riff.wav"
        riff_midi(midi)
        subprocess.run(
            ["fluidsynth", "-ni", "-g", "1.0", "-r", "48000", "-F", str(wav), str(SOUNDFONT), str(midi)],
            check=True,
            capture_output=True,
        )
        audio, rate = sf.read(str(wav), dtype="float64", always_2d=True)
    mono = audio.mean(axis=1)
    seconds = 60.0 / TEMPO_BPM * 16 + 1.0
    mono = mono[: int(seconds * rate)]
    mono *= 10 ** (-3 / 20) / np.max(np.abs(mono))
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(OUTPUT), mono.astype(np.float32), rate, subtype="PCM_16")
    print(f"wrote {OUTPUT} ({len(mono) / rate:.1f} s, {OUTPUT.stat().st_size // 1024} kB)")


if __name__ == "__main__":
    main()
