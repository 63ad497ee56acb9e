"""Ogg pages for an Opus stream (RFC 3533 framing, RFC 7845 Opus mapping).

FFmpeg's Ogg muxer holds a page back until the next one starts, which adds a
packet of delay to a live stream; writing pages ourselves (one Opus packet per
page) adds none. The format is small:

* page header: ``OggS``, version 0, header-type flags (1 = continued packet,
  2 = first page, 4 = last page), the granule position (for Opus: 48 kHz
  samples including the pre-skip), a serial number, a page sequence number,
  a CRC-32 (polynomial 0x04C11DB7, no reflection, initial 0, computed with
  the CRC field zeroed), then the segment table (lacing values: a packet of
  N bytes is N // 255 values of 255 and one of N % 255);
* first page: the ``OpusHead`` identification header alone;
* second page: ``OpusTags`` (vendor string and comments, e.g. the title);
* then audio pages.

A listener joining mid-stream must first get the two header pages, then audio
pages from any point: :class:`OggOpusStream` keeps the headers for that.

:func:`pad_opus_packet` adds Opus padding (RFC 6716, section 3.2.5) to a
packet: the decoder skips it, the audio is bit for bit the same, only the
byte rate grows. Chromium hands an HTTP media resource to its demuxer in
whole 32 KiB blocks, so an ``<audio>`` element lags a live stream by about
two blocks' worth of time; at 128 kb/s that is 4 s, padded to 2 Mb/s it is
0.3 s (``docs/streaming-benchmark.md``).
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, field


def _crc_table() -> list[int]:
    table = []
    for i in range(256):
        r = i << 24
        for _ in range(8):
            r = ((r << 1) ^ 0x04C11DB7) if r & 0x80000000 else (r << 1)
        table.append(r & 0xFFFFFFFF)
    return table


_CRC_TABLE = _crc_table()

FLAG_CONTINUED = 0x01
FLAG_FIRST = 0x02
FLAG_LAST = 0x04
#: The largest packet one page holds (255 lacing values of 255, the last one short).
MAX_PACKET_BYTES = 255 * 255 - 1


_BIT_REVERSED = bytes(int(f"{i:08b}"[::-1], 2) for i in range(256))


def ogg_crc_reference(data: bytes) -> int:
    """The Ogg CRC, byte by byte as the spec states it (slow; for tests)."""
    crc = 0
    table = _CRC_TABLE
    for byte in data:
        crc = ((crc << 8) & 0xFFFFFFFF) ^ table[((crc >> 24) & 0xFF) ^ byte]
    return crc


def ogg_crc(data: bytes) -> int:
    """The Ogg CRC (polynomial 0x04C11DB7, MSB first, initial 0, no final xor),
    computed by zlib's reflected CRC-32 on bit-reversed bytes."""
    reflected = ~zlib.crc32(data.translate(_BIT_REVERSED), 0xFFFFFFFF) & 0xFFFFFFFF
    return int(f"{reflected:032b}"[::-1], 2)


def pad_opus_packet(packet: bytes, size: int) -> bytes:
    """``packet`` grown to about ``size`` bytes with Opus padding (RFC 6716
    3.2.5): the packet becomes a code-3 packet with the padding flag; it
    decodes to exactly the same audio. Packets that are already padded, or
    already as large, come back unchanged."""
    if not packet:
        return packet
    toc, code = packet[0], packet[0] & 0x03
    if code == 0:
        prefix, body = bytes([toc | 3, 0x40 | 1]), packet[1:]
    elif code == 1:
        prefix, body = bytes([toc | 3, 0x40 | 2]), packet[1:]
    elif code == 2:  # two frames, the first one's length coded: code 3 VBR, M = 2
        prefix, body = bytes([toc | 3, 0x80 | 0x40 | 2]), packet[1:]
    else:
        if len(packet) < 2 or packet[1] & 0x40:
            return packet
        prefix, body = bytes([toc, packet[1] | 0x40]), packet[2:]
    room = size - len(prefix) - len(body)  # padding-length bytes plus padding
    if room < 1:
        return packet
    padding = room - 1
    while padding + _padding_length_bytes(padding) > room:
        padding -= 1
    length = bytearray(b"\xff" * ((padding - 1) // 254 if padding > 254 else 0))
    length.append(padding - 254 * len(length))
    return prefix + bytes(length) + body + bytes(padding)


def _padding_length_bytes(padding: int) -> int:
    """Bytes that code a padding length: each 255 adds 254, the last byte 0-254."""
    return (padding - 1) // 254 + 1 if padding > 254 else 1


def page_overhead(packet_bytes: int) -> int:
    """Header and segment-table bytes of a one-packet page."""
    return 27 + packet_bytes // 255 + 1


def ogg_page(packet: bytes, *, serial: int, sequence: int, granule: int, flags: int = 0) -> bytes:
    """One Ogg page holding one whole packet (up to 255*255 bytes)."""
    if len(packet) > MAX_PACKET_BYTES:
        raise ValueError("packet too large for one page")
    lacing = [255] * (len(packet) // 255) + [len(packet) % 255]
    header = struct.pack("<4sBBqIIIB", b"OggS", 0, flags, granule, serial, sequence, 0, len(lacing))
    page = bytearray(header + bytes(lacing) + packet)
    struct.pack_into("<I", page, 22, ogg_crc(bytes(page)))
    return bytes(page)


def opus_head(channels: int, pre_skip: int, sample_rate: int = 48000, gain_q8: int = 0) -> bytes:
    """The OpusHead identification header (channel mapping family 0: mono/stereo)."""
    return struct.pack("<8sBBHIhB", b"OpusHead", 1, channels, pre_skip, sample_rate, gain_q8, 0)


def opus_tags(vendor: str = "netpedal", comments: dict[str, str] | None = None) -> bytes:
    """The OpusTags comment header; ``comments`` become ``KEY=value`` entries
    (``TITLE`` shows as the track title in players)."""
    vendor_bytes = vendor.encode()
    entries = [f"{k.upper()}={v}".encode() for k, v in (comments or {}).items()]
    out = struct.pack("<8sI", b"OpusTags", len(vendor_bytes)) + vendor_bytes
    out += struct.pack("<I", len(entries))
    for entry in entries:
        out += struct.pack("<I", len(entry)) + entry
    return out


@dataclass
class OggOpusStream:
    """Turns Opus packets into Ogg pages for one logical stream."""

    channels: int
    pre_skip: int
    serial: int = 0x50454441  # "PEDA"
    title: str = ""
    _sequence: int = 0
    _granule: int = 0
    headers: bytes = field(default=b"", init=False)

    def __post_init__(self) -> None:
        head = ogg_page(
            opus_head(self.channels, self.pre_skip),
            serial=self.serial,
            sequence=0,
            granule=0,
            flags=FLAG_FIRST,
        )
        tags = ogg_page(
            opus_tags(comments={"TITLE": self.title} if self.title else None),
            serial=self.serial,
            sequence=1,
            granule=0,
        )
        self.headers = head + tags
        self._sequence = 2
        self._granule = 0  # PCM position = granule - pre_skip (RFC 7845)

    def skip(self, samples: int) -> None:
        """Advance as :meth:`page` would, without making the page (nobody takes it)."""
        self._granule += samples
        self._sequence += 1

    def page(self, packet: bytes, samples: int, *, last: bool = False) -> bytes:
        """The page for one Opus packet of ``samples`` (at 48 kHz)."""
        self._granule += samples
        page = ogg_page(
            packet,
            serial=self.serial,
            sequence=self._sequence,
            granule=self._granule,
            flags=FLAG_LAST if last else 0,
        )
        self._sequence += 1
        return page
