"""Opus encoding through PyAV (FFmpeg's libopus).

Opus is the codec for listening: at 96-128 kb/s it is transparent for a
guitar, its frames are short (10 or 20 ms) and browsers decode it natively
(``<audio>`` with Ogg, WebCodecs ``AudioDecoder``). The encoder runs in the
server process, never on the audio thread: 20 ms frames cost ~0.2 ms each.

``application=lowdelay`` (CELT only) drops the SILK look-ahead: the encoder's
algorithmic delay is 2.5 ms (120 samples of pre-skip at 48 kHz).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import av
import numpy as np

SAMPLE_RATE = 48000


@dataclass(frozen=True)
class OpusPacket:
    data: bytes
    samples: int  # 48 kHz samples this packet decodes to
    pts: int  # position of its first sample in the stream (48 kHz samples)


class OpusEncoder:
    """Encode float32 ``(channels, frames)`` audio into Opus packets."""

    def __init__(self, channels: int = 1, bitrate: int = 128000, frame_ms: float = 20.0) -> None:
        if channels not in (1, 2):
            raise ValueError("Opus streams here are mono or stereo")
        if frame_ms not in (2.5, 5.0, 10.0, 20.0, 40.0, 60.0):
            raise ValueError(f"frame_ms {frame_ms}: Opus frames are 2.5, 5, 10, 20, 40 or 60 ms")
        self.channels = channels
        self.frame_size = int(SAMPLE_RATE * frame_ms / 1000)
        self._codec = av.CodecContext.create("libopus", "w")
        self._codec.sample_rate = SAMPLE_RATE
        self._codec.layout = "stereo" if channels == 2 else "mono"
        self._codec.format = "flt"
        self._codec.bit_rate = int(bitrate)
        self._codec.options = {"frame_duration": f"{frame_ms:g}", "application": "lowdelay", "vbr": "on"}
        self._codec.open()
        self.pre_skip = int.from_bytes(bytes(self._codec.extradata)[10:12], "little")
        self._pending = np.zeros((channels, 0), dtype=np.float32)
        self._pts = 0

    def encode(self, audio: np.ndarray) -> Iterator[OpusPacket]:
        """Feed any number of frames; yields every packet that is complete."""
        audio = np.asarray(audio, dtype=np.float32).reshape(self.channels, -1)
        self._pending = np.concatenate([self._pending, audio], axis=1)
        while self._pending.shape[1] >= self.frame_size:
            chunk = self._pending[:, : self.frame_size]
            self._pending = self._pending[:, self.frame_size :]
            yield from self._encode_frame(chunk)

    def _encode_frame(self, chunk: np.ndarray) -> Iterator[OpusPacket]:
        # PyAV wants packed (interleaved) float for "flt": shape (1, frames*channels).
        packed = np.ascontiguousarray(chunk.T).reshape(1, -1)
        frame = av.AudioFrame.from_ndarray(packed, format="flt", layout=self._codec.layout.name)
        frame.sample_rate = SAMPLE_RATE
        frame.pts = self._pts
        self._pts += chunk.shape[1]
        for packet in self._codec.encode(frame):
            yield OpusPacket(
                bytes(packet), int(packet.duration or self.frame_size), int(packet.pts or 0) + self.pre_skip
            )
