"""Uncompressed audio over RTP: L24 at 48 kHz in 1 ms packets, AES67-style.

For instrument-to-instrument and mixing-desk use on a local network, where
Opus's delay (its frame plus a jitter buffer) is too much: 24-bit linear PCM
(RFC 3190 "L24", big-endian, interleaved), 48 samples per packet (AES67's
default packet time of 1 ms), RTP over UDP (RFC 3550) to a unicast or
multicast address, described by an SDP file (RFC 4566) that ffmpeg, GStreamer
or an AES67 receiver opens::

    ffplay -protocol_whitelist file,udp,rtp -i stream.sdp

The RTP timestamp counts samples; the sequence number counts packets. A real
AES67 device also wants PTP clock information (``a=ts-refclk``); we announce
the local clock, which is what a stand-alone sender without PTP can honestly
say.
"""

from __future__ import annotations

import contextlib
import ipaddress
import random
import socket
import struct
import time

import numpy as np

SAMPLE_RATE = 48000
PAYLOAD_TYPE = 96  # dynamic
PACKET_FRAMES = 48  # 1 ms at 48 kHz


def parse_destination(text: str) -> tuple[str, int]:
    """``ADDRESS:PORT`` (IPv4) -> (address, port), with a clear error."""
    host, sep, port = text.rpartition(":")
    try:
        if not sep:
            raise ValueError
        address = str(ipaddress.IPv4Address(host))
        number = int(port)
        if not 1 <= number <= 65535 or number % 2:
            raise ValueError
    except ValueError:
        raise ValueError(
            f"--rtp {text!r}: expected IPv4ADDRESS:PORT with an even port "
            "(RTP uses the even port, RTCP the odd one above it)"
        ) from None
    return address, number


def to_l24(block: np.ndarray) -> bytes:
    """float32 ``(channels, frames)`` -> big-endian 24-bit interleaved bytes."""
    interleaved = np.clip(block.T.reshape(-1), -1.0, 1.0 - 1.0 / 8388608.0)
    ints = np.round(interleaved * 8388608.0).astype(np.int32)
    out = np.empty((ints.size, 3), dtype=np.uint8)
    out[:, 0] = (ints >> 16) & 0xFF
    out[:, 1] = (ints >> 8) & 0xFF
    out[:, 2] = ints & 0xFF
    return out.tobytes()


def from_l24(payload: bytes, channels: int) -> np.ndarray:
    """The inverse of :func:`to_l24` (for tests and receivers)."""
    raw = np.frombuffer(payload, dtype=np.uint8).reshape(-1, 3).astype(np.int32)
    ints = (raw[:, 0] << 16) | (raw[:, 1] << 8) | raw[:, 2]
    ints = np.where(ints >= 1 << 23, ints - (1 << 24), ints)
    return (ints / 8388608.0).astype(np.float32).reshape(-1, channels).T


class RtpSender:
    """Packs audio into RTP L24 packets and sends each as soon as it is full."""

    def __init__(
        self, destination: str, *, channels: int = 1, ttl: int = 16, source_address: str | None = None
    ) -> None:
        self.address, self.port = parse_destination(destination)
        self.channels = channels
        self.ssrc = random.getrandbits(32)
        self.sequence = random.getrandbits(16)
        self.timestamp = random.getrandbits(32)
        self.session_id = int(time.time())
        self.packets_sent = 0
        self._pending = np.zeros((channels, 0), dtype=np.float32)
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        if ipaddress.IPv4Address(self.address).is_multicast:
            self._socket.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, ttl)
        self.ttl = ttl
        self.source_address = source_address or _local_address(self.address)

    def send(self, block: np.ndarray) -> None:
        """Queue ``(channels, frames)`` audio; every complete 1 ms packet goes out now."""
        self._pending = np.concatenate([self._pending, np.asarray(block, dtype=np.float32)], axis=1)
        while self._pending.shape[1] >= PACKET_FRAMES:
            chunk = self._pending[:, :PACKET_FRAMES]
            self._pending = self._pending[:, PACKET_FRAMES:]
            header = struct.pack("!BBHII", 0x80, PAYLOAD_TYPE, self.sequence, self.timestamp, self.ssrc)
            # A full buffer or an unreachable receiver must not stop the stream.
            with contextlib.suppress(OSError):
                self._socket.sendto(header + to_l24(chunk), (self.address, self.port))
            self.sequence = (self.sequence + 1) & 0xFFFF
            self.timestamp = (self.timestamp + PACKET_FRAMES) & 0xFFFFFFFF
            self.packets_sent += 1

    def sdp(self, name: str = "netpedal") -> str:
        """The session description for receivers."""
        multicast = ipaddress.IPv4Address(self.address).is_multicast
        connection = f"{self.address}/{self.ttl}" if multicast else self.address
        return "\r\n".join(
            [
                "v=0",
                f"o=- {self.session_id} 1 IN IP4 {self.source_address}",
                f"s={name}",
                f"c=IN IP4 {connection}",
                "t=0 0",
                f"m=audio {self.port} RTP/AVP {PAYLOAD_TYPE}",
                f"a=rtpmap:{PAYLOAD_TYPE} L24/{SAMPLE_RATE}/{self.channels}",
                "a=ptime:1",
                "a=ts-refclk:local",
                "a=mediaclk:direct=0",
                "a=sendonly",
                "",
            ]
        )

    def close(self) -> None:
        self._socket.close()


def _local_address(destination: str) -> str:
    """The address this host would send from (no packet is sent)."""
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        probe.connect((destination, 9))
        return probe.getsockname()[0]
    except OSError:
        return "127.0.0.1"
    finally:
        probe.close()
