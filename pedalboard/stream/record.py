"""Recording the performance: FLAC (lossless) or Ogg/Opus, with rotation.

``pedal run --record gig.flac`` writes ``gig-0001.flac``, ``gig-0002.flac``,
... starting a new file when the current one reaches ``max_seconds`` or
``max_bytes``, so a long rehearsal never becomes one fragile giant file and a
full disk loses at most the file being written. FLAC takes the engine's PCM;
``.ogg``/``.opus`` take the stream's Opus packets (encoded once, for listeners
and the recording alike) and page them afresh, so every file is a whole
Ogg/Opus file of its own: headers with the preset's name as ``TITLE`` at the
time the file was opened, page numbers and granule positions from zero, and
an end-of-stream page. It runs in the stream hub's thread, never the audio
thread.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

import numpy as np
import soundfile as sf

from pedalboard.errors import PedalError
from pedalboard.stream.ogg import OggOpusStream
from pedalboard.stream.opus import OpusPacket


class Recorder:
    """Writes rotating recordings; feed it with :meth:`pcm` (FLAC) or
    :meth:`packet` (Ogg/Opus: ``pre_skip`` is the encoder's)."""

    def __init__(
        self,
        path: str | Path,
        *,
        channels: int,
        sample_rate: int = 48000,
        max_seconds: float = 3600.0,
        max_bytes: int = 2 * 1024**3,
        pre_skip: int | None = None,
        title: Callable[[], str] = lambda: "",
    ) -> None:
        self.base = Path(path)
        if not self.base.parent.is_dir():
            raise PedalError(f"--record {path}: folder {self.base.parent} does not exist")
        suffix = self.base.suffix.lower()
        if suffix not in (".flac", ".ogg", ".opus"):
            raise PedalError(f"--record {path}: use a .flac, .ogg or .opus file name")
        self.kind = "flac" if suffix == ".flac" else "ogg"
        if self.kind == "ogg" and pre_skip is None:
            raise ValueError("an Ogg recording needs the encoder's pre-skip")
        self.channels = channels
        self.sample_rate = sample_rate
        self.max_frames = int(max_seconds * sample_rate)
        self.max_bytes = max_bytes
        self.pre_skip = pre_skip or 0
        self.title = title
        self.files: list[Path] = []
        self._frames = 0
        self._bytes = 0
        self._flac: sf.SoundFile | None = None
        self._ogg: BinaryIO | None = None
        self._pages: OggOpusStream | None = None
        self._held: OpusPacket | None = None  # written when the next one comes (or as the last page)
        self._open_next()

    def _open_next(self) -> None:
        self.close()
        path = self._next_path()
        self.files.append(path)
        self._frames = 0
        self._bytes = 0
        if self.kind == "flac":
            self._flac = sf.SoundFile(
                str(path), "w", self.sample_rate, self.channels, subtype="PCM_24", format="FLAC"
            )
        else:
            self._pages = OggOpusStream(self.channels, self.pre_skip, title=self.title())
            self._ogg = open(path, "wb")  # noqa: SIM115 - kept open across calls
            self._ogg.write(self._pages.headers)
            self._bytes = len(self._pages.headers)

    def _next_path(self) -> Path:
        """The next numbered file that does not exist yet: a restarted pedal
        goes on numbering and never overwrites an earlier take."""
        number = len(self.files) + 1
        while True:
            path = self.base.with_name(f"{self.base.stem}-{number:04d}{self.base.suffix}")
            if not path.exists():
                return path
            number += 1

    def pcm(self, block: np.ndarray) -> None:
        """Float32 ``(channels, frames)`` from the engine (FLAC recordings)."""
        if self._flac is None:
            return
        self._flac.write(np.clip(block.T, -1.0, 1.0))
        self._frames += block.shape[1]
        self._bytes = self._frames * 3 * self.channels  # 24-bit PCM size: a bound on the FLAC size
        if self._frames >= self.max_frames or self._bytes >= self.max_bytes:
            self._open_next()

    def packet(self, packet: OpusPacket) -> None:
        """One Opus packet from the stream's encoder (Ogg/Opus recordings)."""
        if self._ogg is None or self._pages is None:
            return
        if self._held is not None:
            self._write_page(self._held, last=False)
        self._held = packet
        self._frames += packet.samples
        if self._frames >= self.max_frames or self._bytes >= self.max_bytes:
            self._open_next()

    def _write_page(self, packet: OpusPacket, *, last: bool) -> None:
        assert self._ogg is not None and self._pages is not None
        page = self._pages.page(packet.data, packet.samples, last=last)
        self._ogg.write(page)
        self._bytes += len(page)

    def close(self) -> None:
        if self._flac is not None:
            self._flac.close()
            self._flac = None
        if self._ogg is not None:
            if self._held is not None:
                self._write_page(self._held, last=True)
                self._held = None
            self._ogg.close()
            self._ogg = None
            self._pages = None
