"""Recordings: FLAC equals what the engine played, rotation splits cleanly."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from pedalboard.errors import PedalError
from pedalboard.signals import guitar_riff
from pedalboard.stream.record import Recorder


def test_flac_recording_rotates_without_losing_a_sample(tmp_path: Path) -> None:
    audio = (0.5 * guitar_riff(2.5, 48000)).astype(np.float32)[np.newaxis, :]
    recorder = Recorder(tmp_path / "gig.flac", channels=1, max_seconds=1.0)
    for start in range(0, audio.shape[1], 64):
        recorder.pcm(audio[:, start : start + 64])
    recorder.close()
    assert [p.name for p in recorder.files] == ["gig-0001.flac", "gig-0002.flac", "gig-0003.flac"]
    joined = np.concatenate([sf.read(str(p), dtype="float32")[0] for p in recorder.files])
    np.testing.assert_allclose(joined, audio[0], atol=2.0**-23)
    assert sf.info(str(recorder.files[0])).duration == pytest.approx(1.0, abs=0.002)


def test_bad_record_paths(tmp_path: Path) -> None:
    with pytest.raises(PedalError, match=r"use a \.flac, \.ogg or \.opus"):
        Recorder(tmp_path / "gig.mp3", channels=1)
    with pytest.raises(PedalError, match="does not exist"):
        Recorder(tmp_path / "nope" / "gig.flac", channels=1)
