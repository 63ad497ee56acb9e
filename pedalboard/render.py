"""Offline rendering: audio files through a chain, the way a producer expects.

* Every format libsndfile reads and writes (WAV, FLAC, OGG/Vorbis, AIFF, ...),
  mono and stereo, at the file's own rate or resampled with soxr.
* The same ``Chain`` the live pedal runs, fed in blocks, so offline and live
  agree sample for sample.
* Tails: with ``tail="auto"`` the render goes on after the input ends until
  the output has decayed below -90 dBFS (at most the chain's ``tail_seconds``).
* The output is written atomically (a temporary file in the same folder, then
  a rename); the input is never overwritten.
"""

from __future__ import annotations

import os
import queue
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from pedalboard.chain import Chain
from pedalboard.effects.base import MAX_BLOCK
from pedalboard.errors import AudioFileError, PedalError

#: Output below this peak level over the last ``SILENCE_WINDOW_S`` ends an automatic tail.
SILENCE_DBFS = -90.0
SILENCE_WINDOW_S = 0.1
#: Longest automatic tail, whatever the effects claim.
MAX_TAIL_S = 30.0
#: Frames per read and write when rendering a file (1.4 s at 48 kHz): few
#: libsndfile calls and little per-block Python, a few MB of memory at most.
#: The chain still runs ``MAX_BLOCK`` frames at a time.
IO_BLOCK = 16 * MAX_BLOCK

ProgressCallback = Callable[[int, int], None]


@dataclass
class RenderResult:
    """What a render produced."""

    output: Path
    sample_rate: int
    channels: int
    frames: int
    peak_dbfs: float
    clipped: bool

    @property
    def duration_s(self) -> float:
        return self.frames / self.sample_rate


def read_audio(path: str | Path) -> tuple[np.ndarray, int, sf._SoundFileInfo]:
    """Read a file as float32 ``(channels, frames)``; clear errors for bad files."""
    path = Path(path)
    if not path.exists():
        raise AudioFileError(f"input file not found: {path}")
    if path.is_dir():
        raise AudioFileError(f"input is a folder, not an audio file: {path}")
    try:
        info = sf.info(str(path))
        data, rate = sf.read(str(path), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, OSError) as error:
        raise AudioFileError(f"cannot read audio from {path}: {_short(error)}") from None
    if data.shape[0] == 0:
        raise AudioFileError(f"{path} contains no audio frames")
    return np.ascontiguousarray(data.T), int(rate), info


def _short(error: Exception) -> str:
    return str(error).strip().splitlines()[-1] if str(error).strip() else type(error).__name__


def resample(audio: np.ndarray, from_rate: int, to_rate: int) -> np.ndarray:
    """Very-high-quality soxr resampling of ``(channels, frames)`` audio."""
    if from_rate == to_rate:
        return audio
    import soxr

    out = soxr.resample(audio.T, from_rate, to_rate, quality="VHQ")
    return np.ascontiguousarray(np.atleast_2d(out.T), dtype=np.float32)


def render_array(
    chain: Chain,
    audio: np.ndarray,
    sample_rate: int,
    *,
    tail: str | float = "auto",
    progress: ProgressCallback | None = None,
) -> np.ndarray:
    """Run ``(channels, frames)`` audio through ``chain`` and return the result,
    with the tail appended as asked (``"auto"``, ``"none"`` or seconds)."""
    channels, frames = audio.shape
    work = np.array(audio, dtype=np.float32, order="C")
    source = (work[:, start : start + IO_BLOCK] for start in range(0, frames, IO_BLOCK))
    tail_pieces = [block.copy() for block in render_blocks(chain, source, channels, frames,
                                                             sample_rate, tail=tail,
                                                             progress=progress, tail_only=True)]
    if not tail_pieces:
        return work
    return np.concatenate([work, *tail_pieces], axis=1)


def render_blocks(
    chain: Chain,
    source: Iterable[np.ndarray],
    channels: int,
    frames: int,
    sample_rate: int,
    *,
    tail: str | float = "auto",
    progress: ProgressCallback | None = None,
    tail_only: bool = False,
) -> Iterator[np.ndarray]:
    """The processed blocks of ``source`` (float32 ``(channels, n)`` blocks of
    any length, processed in place in pieces of ``MAX_BLOCK`` frames, as
    :meth:`Chain.process` does), then the tail's (at most ``MAX_BLOCK`` frames
    each). A yielded block is valid until the next one is asked for. With
    ``"auto"`` the tail ends once the output has stayed below ``SILENCE_DBFS``
    for ``SILENCE_WINDOW_S`` (that quiet stretch is not emitted). With
    ``tail_only`` the source blocks are processed but only the tail's are
    yielded."""
    chain.prepare(sample_rate, channels, MAX_BLOCK)
    chain.reset()
    tail_frames = int(_tail_limit(chain, tail) * sample_rate)
    process = chain.process_inplace
    done = 0
    for block in source:
        length = block.shape[1]
        if length <= MAX_BLOCK:
            process(block)
        else:
            for start in range(0, length, MAX_BLOCK):
                process(block[:, start : start + MAX_BLOCK])
        done += length
        if progress is not None:
            progress(min(done, frames), frames)
        if not tail_only:
            yield block
    window = max(1, int(SILENCE_WINDOW_S * sample_rate))
    silence = 10.0 ** (SILENCE_DBFS / 20.0)
    scratch = np.zeros((channels, MAX_BLOCK), np.float32)
    quiet: list[np.ndarray] = []  # tail blocks since the last one above the floor
    quiet_frames = 0
    position = 0
    while position < tail_frames:
        block = scratch[:, : min(MAX_BLOCK, tail_frames - position)]
        block[:] = 0.0
        process(block)
        position += block.shape[1]
        if tail != "auto":
            yield block
        elif _peak(block) > silence:
            yield from quiet
            quiet.clear()
            quiet_frames = 0
            yield block
        else:
            quiet.append(block.copy())
            quiet_frames += block.shape[1]
            if quiet_frames >= window:
                return


def _peak(block: np.ndarray) -> float:
    """Largest absolute sample (no temporary array)."""
    if block.size == 0:
        return 0.0
    return float(max(block.max(), -block.min()))


def _tail_limit(chain: Chain, tail: str | float) -> float:
    if tail == "none":
        return 0.0
    if tail == "auto":
        return min(MAX_TAIL_S, chain.tail_seconds)
    seconds = float(tail)
    if not 0.0 <= seconds <= 600.0:
        raise PedalError(f"--tail {tail}: seconds must be within [0, 600]")
    return seconds


def normalize(audio: np.ndarray, peak_dbfs: float) -> np.ndarray:
    peak = _peak(audio)
    if peak == 0.0:
        return audio
    return audio * np.float32(10.0 ** (peak_dbfs / 20.0) / peak)


def write_audio_atomic(path: Path, audio: np.ndarray, sample_rate: int, subtype: str | None) -> None:
    """Write ``(channels, frames)`` audio through a temporary file and a rename,
    so a crash or a full disk never leaves a half-written output behind."""
    with _atomic_output(Path(path)) as temporary:
        sf.write(temporary, audio.T, sample_rate, format=_format_for(Path(path)),
                 subtype=_checked_subtype(Path(path), subtype))


@contextmanager
def _atomic_output(path: Path) -> Iterator[str]:
    """A temporary file next to ``path`` that becomes ``path`` only when the
    block finishes; on any error it is removed and ``path`` is untouched."""
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise AudioFileError(f"output folder does not exist: {folder}")
    _format_for(path)
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=folder)
    os.close(descriptor)
    try:
        yield temporary
        os.replace(temporary, path)
    except (sf.LibsndfileError, RuntimeError, OSError) as error:
        raise AudioFileError(f"cannot write {path}: {_short(error)}") from None
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)


def _checked_subtype(path: Path, subtype: str | None) -> str | None:
    if subtype is not None and not sf.check_format(_format_for(path), subtype):
        return None
    return subtype


def _input_info(path: Path) -> sf._SoundFileInfo:
    if not path.exists():
        raise AudioFileError(f"input file not found: {path}")
    if path.is_dir():
        raise AudioFileError(f"input is a folder, not an audio file: {path}")
    try:
        info = sf.info(str(path))
    except (sf.LibsndfileError, RuntimeError, OSError) as error:
        raise AudioFileError(f"cannot read audio from {path}: {_short(error)}") from None
    if info.frames == 0:
        raise AudioFileError(f"{path} contains no audio frames")
    return info


class _BackgroundWriter:
    """Writes blocks to a ``SoundFile`` on a thread of its own, so libsndfile's
    conversion and the disk overlap the processing of the next block. The
    blocks come from a small pool of buffers handed round between the two
    threads: memory stays a few blocks whatever the file's length."""

    def __init__(self, writer: sf.SoundFile, channels: int, frames: int, buffers: int = 3) -> None:
        self._writer = writer
        self._free: queue.Queue[np.ndarray] = queue.Queue()
        for _ in range(buffers):
            # (frames, channels): libsndfile's interleaved layout; mono blocks are
            # its (1, n) transpose without a copy.
            self._free.put(np.empty((frames, channels), np.float32))
        self._full: queue.Queue[tuple[np.ndarray, int] | None] = queue.Queue()
        self._error: BaseException | None = None
        self.peak = 0.0
        self.written = 0
        self._thread = threading.Thread(target=self._run, name="render-writer", daemon=True)
        self._thread.start()

    def buffer(self) -> np.ndarray:
        """A free ``(frames, channels)`` buffer (waits while all are being written)."""
        self._raise_if_failed()
        return self._free.get()

    def give_back(self, buffer: np.ndarray) -> None:
        """Return an unused buffer from :meth:`buffer`."""
        self._free.put(buffer)

    def write(self, buffer: np.ndarray, frames: int) -> None:
        """Queue the first ``frames`` rows of ``buffer`` (from :meth:`buffer`)."""
        self._raise_if_failed()
        self._full.put((buffer, frames))

    def close(self) -> None:
        """Wait until everything queued is written; raise the writer's error."""
        self._full.put(None)
        self._thread.join()
        self._raise_if_failed()

    def _run(self) -> None:
        while True:
            item = self._full.get()
            if item is None:
                return
            buffer, frames = item
            if self._error is None:
                try:
                    data = buffer[:frames]
                    self.peak = max(self.peak, _peak(data))
                    self._writer.write(data)
                    self.written += frames
                except BaseException as error:  # handed to the main thread
                    self._error = error
            self._free.put(buffer)

    def _raise_if_failed(self) -> None:
        if self._error is not None:
            raise self._error


def _render_streaming(chain: Chain, input_path: Path, output_path: Path, info: sf._SoundFileInfo,
                      subtype: str | None, *, tail: str | float,
                      progress: ProgressCallback | None) -> tuple[int, int, float]:
    """Read, process and write ``IO_BLOCK`` frames at a time: memory stays a
    few blocks whatever the file's length. Returns (channels, frames written, peak)."""
    channels, rate = info.channels, info.samplerate
    planar = np.empty((channels, IO_BLOCK), np.float32) if channels > 1 else None

    try:
        with sf.SoundFile(str(input_path)) as reader, _atomic_output(output_path) as temporary, \
                sf.SoundFile(temporary, "w", rate, channels, format=_format_for(output_path),
                             subtype=_checked_subtype(output_path, subtype)) as output:
            writer = _BackgroundWriter(output, channels, IO_BLOCK)
            try:
                pending: list[np.ndarray] = []  # the buffer each source block lives in

                def source() -> Iterator[np.ndarray]:
                    while True:
                        interleaved = writer.buffer()
                        frames = reader.read(IO_BLOCK, dtype="float32", always_2d=True,
                                             out=interleaved).shape[0]
                        if frames == 0:
                            writer.give_back(interleaved)
                            return
                        pending.append(interleaved)
                        if planar is None:
                            yield interleaved[:frames].T  # mono: (1, n), no copy
                        else:
                            block = planar[:, :frames]
                            np.copyto(block, interleaved[:frames].T)
                            yield block

                for block in render_blocks(chain, source(), channels, info.frames, rate, tail=tail,
                                           progress=progress):
                    frames = block.shape[1]
                    if pending:  # a block read from the file
                        interleaved = pending.pop()
                        if planar is not None:
                            np.copyto(interleaved[:frames], block.T)
                    else:  # a tail block
                        interleaved = writer.buffer()
                        np.copyto(interleaved[:frames], block.T)
                    writer.write(interleaved, frames)
            finally:
                writer.close()
    except (sf.LibsndfileError, RuntimeError) as error:
        raise AudioFileError(f"cannot render {input_path}: {_short(error)}") from None
    return channels, writer.written, writer.peak


def _format_for(path: Path) -> str:
    extension = path.suffix.lower().lstrip(".")
    aliases = {
        "aif": "AIFF",
        "aiff": "AIFF",
        "wav": "WAV",
        "flac": "FLAC",
        "ogg": "OGG",
        "oga": "OGG",
        "opus": "OGG",
        "caf": "CAF",
        "w64": "W64",
        "au": "AU",
        "mp3": "MP3",
    }
    fmt = aliases.get(extension)
    if fmt is None or fmt not in sf.available_formats():
        known = ", ".join(sorted({k for k, v in aliases.items() if v in sf.available_formats()}))
        raise AudioFileError(
            f"cannot write {path}: unknown audio format {path.suffix!r} (use one of: {known})"
        )
    return fmt


def _output_subtype(input_info: sf._SoundFileInfo, output: Path) -> str | None:
    """Keep the input's sample format when the output format can hold it."""
    if output.suffix.lower() in (".ogg", ".oga", ".opus"):
        return "OPUS" if output.suffix.lower() == ".opus" else "VORBIS"
    return input_info.subtype


def render_file(
    chain: Chain,
    input_path: str | Path,
    output_path: str | Path,
    *,
    sample_rate: int | None = None,
    tail: str | float = "auto",
    normalize_dbfs: float | None = None,
    progress: ProgressCallback | None = None,
) -> RenderResult:
    """Render one file through ``chain``; see the module docstring."""
    input_path, output_path = Path(input_path), Path(output_path)
    _format_for(output_path)  # fail on a bad extension before doing the work
    if output_path.exists() and input_path.exists() and output_path.resolve() == input_path.resolve():
        raise AudioFileError(f"refusing to overwrite the input file {input_path}; choose another output")
    info = _input_info(input_path)
    target_rate = int(sample_rate or info.samplerate)
    if not 8000 <= target_rate <= 384000:
        raise PedalError(f"--sample-rate {target_rate}: must be within [8000, 384000] Hz")
    subtype = _output_subtype(info, output_path)
    if target_rate != info.samplerate or normalize_dbfs is not None:
        # Resampling and normalisation need the whole signal: render in memory.
        audio, rate, _ = read_audio(input_path)
        rendered = render_array(chain, resample(audio, rate, target_rate), target_rate, tail=tail,
                                progress=progress)
        if normalize_dbfs is not None:
            rendered = normalize(rendered, normalize_dbfs)
        peak = _peak(rendered)
        write_audio_atomic(output_path, rendered, target_rate, subtype)
        channels, written = rendered.shape
    else:
        channels, written, peak = _render_streaming(chain, input_path, output_path, info, subtype,
                                                    tail=tail, progress=progress)
    clipped = peak > 1.0
    return RenderResult(
        output=output_path,
        sample_rate=target_rate,
        channels=channels,
        frames=written,
        peak_dbfs=20.0 * np.log10(peak) if peak > 0 else -np.inf,
        clipped=clipped,
    )
