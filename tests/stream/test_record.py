"""Recordings: FLAC equals what the engine played, rotation splits cleanly (FLAC and Ogg/Opus)."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest
import soundfile as sf

from pedalboard.errors import PedalError
from pedalboard.signals import guitar_riff
from pedalboard.stream.opus import OpusEncoder
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


def test_ogg_recording_rotates_into_whole_files_titled_with_the_preset(tmp_path: Path) -> None:
    """Each Ogg file is an Ogg/Opus file of its own: headers with the preset's
    name at the time, pages from zero, about ``max_seconds`` of audio each."""
    audio = (0.5 * guitar_riff(2.5, 48000)).astype(np.float32)[np.newaxis, :]
    encoder = OpusEncoder(1, 128000, 10.0)
    titles = iter(["Crunch", "Lead", "Clean"])
    recorder = Recorder(tmp_path / "gig.opus", channels=1, max_seconds=1.0, pre_skip=encoder.pre_skip,
                        title=lambda: next(titles))
    for start in range(0, audio.shape[1], 64):
        for packet in encoder.encode(audio[:, start : start + 64]):
            recorder.packet(packet)
    recorder.close()
    assert [p.name for p in recorder.files] == ["gig-0001.opus", "gig-0002.opus", "gig-0003.opus"]
    decoded = []
    for path, title in zip(recorder.files, ["Crunch", "Lead", "Clean"], strict=True):
        with av.open(str(path)) as container:
            stream = container.streams.audio[0]
            assert (stream.metadata.get("TITLE") or stream.metadata.get("title")) == title
            samples = np.concatenate([f.to_ndarray() for f in container.decode(stream)], axis=1)
        decoded.append(samples[0])
        data = path.read_bytes()
        assert data[5] == 0x02 and data.rfind(b"OggS") != -1
        assert data[data.rfind(b"OggS") + 5] & 0x04  # the last page ends the stream
    assert [len(d) for d in decoded[:2]] == [pytest.approx(48000, abs=600)] * 2
    assert sum(len(d) for d in decoded) == pytest.approx(audio.shape[1], abs=1500)
