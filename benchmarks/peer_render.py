"""Whole-process render with Spotify's pedalboard (the peer of `pedal render`).
Runs inside .bench-venv: python -I peer_render.py IN OUT"""

import sys

from pedalboard.io import AudioFile

import pedalboard as spotify

board = spotify.Pedalboard(
    [
        spotify.NoiseGate(threshold_db=-60),
        spotify.Compressor(threshold_db=-20, ratio=4),
        spotify.Distortion(drive_db=25),
        spotify.Chorus(),
        spotify.Delay(0.3, 0.3, 0.3),
        spotify.Reverb(),
    ]
)
with AudioFile(sys.argv[1]) as f:
    audio = f.read(f.frames)
    rate = f.samplerate
out = board(audio, rate)
with AudioFile(sys.argv[2], "w", rate, out.shape[0]) as f:
    f.write(out)
