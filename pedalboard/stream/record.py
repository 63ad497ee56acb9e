"""Recording the performance: FLAC (lossless) or Ogg/Opus, with rotation.

``pedal run --record gig.flac`` writes ``gig-0001.flac``, ``gig-0002.flac``,
... starting a new file when the current one reaches ``max_seconds`` or
``max_bytes``, so a long rehearsal never becomes one fragile giant file and a
full disk loses at most the file being written. FLAC takes the engine's PCM;
``.ogg``/``.opus`` take the stream's Ogg pages (the Opus is encoded once, for
listeners and the recording alike). It runs in the stream hub's thread, never
the audio thread.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf

from pedalboard.errors import PedalError


class Recorder:
    """Writes rotating recordings; feed it with :meth:`pcm` or :meth:`page`."""

    def __init__(
        self,
        path: str | Path,
        *,
        channels: int,
        sample_rate: int = 48000,
        max_seconds: float = 3600.0,
        max_bytes: int = 2 * 1024**3,
        ogg_headers: bytes | None = None,
    ) -> None:
        self.base = Path(path)
        if not self.base.parent.is_dir():
            raise PedalError(f"--record {path}: folder {self.base.parent} does not exist")
        suffix = self.base.suffix.lower()
        if suffix not in (".flac", ".ogg", ".opus"):
            raise PedalError(f"--record {path}: use a .flac, .ogg or .opus file name")
        self.kind = "flac" if suffix == ".flac" else "ogg"
        if self.kind == "ogg" and ogg_headers is None:
            raise ValueError("an Ogg recording needs the stream's header pages")
        self.channels = channels
        self.sample_rate = sample_rate
        self.max_frames = int(max_seconds * sample_rate)
        self.max_bytes = max_bytes
        self.ogg_headers = ogg_headers or b""
        self.files: list[Path] = []
        self._frames = 0
        self._bytes = 0
        self._flac: sf.SoundFile | None = None
        self._ogg = None
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
            self._ogg = open(path, "wb")  # noqa: SIM115 - kept open across calls
            self._ogg.write(self.ogg_headers)
            self._bytes = len(self.ogg_headers)

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

    def page(self, page: bytes) -> None:
        """One Ogg page from the stream (Ogg/Opus recordings)."""
        if self._ogg is None:
            return
        self._ogg.write(page)
        self._bytes += len(page)
        self._frames += 960  # 20 ms per page at 48 kHz, near enough for rotation
        if self._frames >= self.max_frames or self._bytes >= self.max_bytes:
            self._open_next()

    def close(self) -> None:
        if self._flac is not None:
            self._flac.close()
            self._flac = None
        if self._ogg is not None:
            self._ogg.close()
            self._ogg = None
