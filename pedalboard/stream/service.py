"""The streaming service of the server process: one hub and its outputs.

``pedal run`` passes the streaming options to the control service, which
starts this once it knows the name of the engine's shared-memory output ring
(from the controller's ``status``). Everything the pedal streams comes from
the one Opus encoder in the hub: HTTP Ogg listeners, WebSocket listeners, the
Icecast source and an Ogg recording; RTP and FLAC recordings take the PCM.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from fastapi import APIRouter, Request, WebSocket

from pedalboard.errors import PedalError
from pedalboard.stream.hub import StreamHub
from pedalboard.stream.icecast import IcecastSource, IcecastTarget
from pedalboard.stream.record import Recorder
from pedalboard.stream.routes import RingSource, listener_router
from pedalboard.stream.rtp import RtpSender

log = logging.getLogger("pedalboard.stream")


@dataclass
class StreamOptions:
    """What to stream, as given on ``pedal run``."""

    bitrate: int = 128000
    frame_ms: float = 20.0
    icecast: str | None = None  # icecast://source:PASSWORD@HOST:PORT/MOUNT
    rtp: str | None = None  # ADDRESS:PORT
    sdp: Path | None = None  # where to write the RTP session description
    record: Path | None = None  # .flac, .ogg or .opus; rotated
    record_max_seconds: float = 3600.0
    record_max_bytes: int = 2 * 1024**3
    listen_needs_token: bool = False

    def check(self) -> None:
        """Fail early, with the option's name, on anything malformed."""
        if not 6000 <= self.bitrate <= 510000:
            raise PedalError(f"--bitrate {self.bitrate}: Opus takes 6000 to 510000 b/s")
        if self.frame_ms not in (10.0, 20.0):
            raise PedalError(f"--frame-ms {self.frame_ms:g}: use 10 or 20")
        if self.icecast:
            IcecastTarget.parse(self.icecast)
        if self.rtp:
            from pedalboard.stream.rtp import parse_destination

            try:
                parse_destination(self.rtp)
            except ValueError as error:
                raise PedalError(str(error)) from None
        if self.record is not None:
            if self.record.suffix.lower() not in (".flac", ".ogg", ".opus"):
                raise PedalError(f"--record {self.record}: use a .flac, .ogg or .opus file name")
            if not self.record.parent.resolve().is_dir():
                raise PedalError(f"--record {self.record}: folder {self.record.parent} does not exist")
        if self.sdp and not self.rtp:
            raise PedalError("--sdp needs --rtp ADDRESS:PORT")


class StreamService:
    """Owns the hub and its outputs for the lifetime of the server."""

    def __init__(self, options: StreamOptions, title: Callable[[], str] = lambda: "") -> None:
        options.check()
        self.options = options
        self.title = title
        self.hub: StreamHub | None = None
        self.rtp: RtpSender | None = None
        self.icecast: IcecastSource | None = None
        self.recorder: Recorder | None = None

    def start(self, ring_name: str) -> None:
        hub = StreamHub(
            RingSource(ring_name),
            bitrate=self.options.bitrate,
            frame_ms=self.options.frame_ms,
            title=self.title,
        )
        if self.options.rtp:
            self.rtp = RtpSender(self.options.rtp, channels=hub.channels)
            hub.pcm_sinks.append(self.rtp.send)
            if self.options.sdp:
                self.options.sdp.write_text(self.rtp.sdp())
        if self.options.record:
            self.recorder = Recorder(
                self.options.record,
                channels=hub.channels,
                max_seconds=self.options.record_max_seconds,
                max_bytes=self.options.record_max_bytes,
                pre_skip=hub.encoder.pre_skip,
                title=self.title,
            )
            if self.recorder.kind == "flac":
                hub.pcm_sinks.append(self.recorder.pcm)
            else:
                hub.packet_sinks.append(self.recorder.packet)
        if self.options.icecast:
            self.icecast = IcecastSource(IcecastTarget.parse(self.options.icecast), hub.headers)
            hub.page_sinks.append(self.icecast.send)
            self.icecast.start()
        hub.start()
        self.hub = hub
        log.info("streaming from ring %s", ring_name)

    def switch_source(self, ring_name: str) -> None:
        """Go on from another ring (the engine restarted): listeners, the
        recording and the Icecast feed continue; only the audio source changes.
        A ring with another channel count restarts the hub instead."""
        if self.hub is None:
            self.start(ring_name)
            return
        source = RingSource(ring_name)
        if source.channels != self.hub.channels:
            self.stop()
            self.start(ring_name)
            return
        self.hub.source = source  # one reference store: the hub's thread reads it per block

    def stop(self) -> None:
        if self.hub is not None:
            self.hub.stop()
        if self.icecast is not None:
            self.icecast.stop()
        if self.recorder is not None:
            self.recorder.close()
        if self.rtp is not None:
            self.rtp.close()

    def sdp(self) -> str | None:
        return self.rtp.sdp() if self.rtp is not None else None

    def router(self, authorize: Callable[[Request | WebSocket], bool]) -> APIRouter:
        """Listener routes; ``authorize`` is consulted only when listening needs a token."""
        needs_token = self.options.listen_needs_token
        return listener_router(
            lambda: self.hub, sdp=self.sdp, authorize=(authorize if needs_token else lambda _: True)
        )
