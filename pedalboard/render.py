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
import tempfile
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
    source = (work[:, start : start + MAX_BLOCK] for start in range(0, frames, MAX_BLOCK))
    pieces = [block.copy() for block in render_blocks(chain, source, channels, frames, sample_rate,
                                                        tail=tail, progress=progress)]
    if not pieces:
        return np.zeros((channels, 0), np.float32)
    return np.concatenate(pieces, axis=1)


def render_blocks(
    chain: Chain,
    source: Iterable[np.ndarray],
    channels: int,
    frames: int,
    sample_rate: int,
    *,
    tail: str | float = "auto",
    progress: ProgressCallback | None = None,
) -> Iterator[np.ndarray]:
    """The processed blocks of ``source`` (float32 ``(channels, n)`` blocks of
    at most ``MAX_BLOCK`` frames, processed in place), then the tail's. A
    yielded block is valid until the next one is asked for. With ``"auto"``
    the tail ends once the output has stayed below ``SILENCE_DBFS`` for
    ``SILENCE_WINDOW_S`` (that quiet stretch is not emitted)."""
    chain.prepare(sample_rate, channels, MAX_BLOCK)
    chain.reset()
    tail_frames = int(_tail_limit(chain, tail) * sample_rate)
    done = 0
    for block in source:
        chain.process_inplace(block)
        done += block.shape[1]
        if progress is not None:
            progress(min(done, frames), frames)
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
        chain.process_inplace(block)
        position += block.shape[1]
        if tail != "auto":
            yield block
        elif np.max(np.abs(block)) > silence:
            yield from quiet
            quiet.clear()
            quiet_frames = 0
            yield block
        else:
            quiet.append(block.copy())
            quiet_frames += block.shape[1]
            if quiet_frames >= window:
                return


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
    peak = float(np.max(np.abs(audio))) if audio.size else 0.0
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


def _render_streaming(chain: Chain, input_path: Path, output_path: Path, info: sf._SoundFileInfo,
                      subtype: str | None, *, tail: str | float,
                      progress: ProgressCallback | None) -> tuple[int, int, float]:
    """Read, process and write block by block: memory stays a few blocks
    whatever the file's length. Returns (channels, frames written, peak)."""
    channels, rate = info.channels, info.samplerate
    buffer = np.zeros((channels, MAX_BLOCK), np.float32)

    def source(reader: sf.SoundFile) -> Iterator[np.ndarray]:
        while True:
            data = reader.read(MAX_BLOCK, dtype="float32", always_2d=True)
            if data.shape[0] == 0:
                return
            block = buffer[:, : data.shape[0]]
            np.copyto(block, data.T)
            yield block

    peak = 0.0
    written = 0
    try:
        with sf.SoundFile(str(input_path)) as reader, _atomic_output(output_path) as temporary, \
                sf.SoundFile(temporary, "w", rate, channels, format=_format_for(output_path),
                             subtype=_checked_subtype(output_path, subtype)) as writer:
            for block in render_blocks(chain, source(reader), channels, info.frames, rate, tail=tail,
                                       progress=progress):
                peak = max(peak, float(np.max(np.abs(block))))
                writer.write(block.T)
                written += block.shape[1]
    except (sf.LibsndfileError, RuntimeError) as error:
        raise AudioFileError(f"cannot render {input_path}: {_short(error)}") from None
    return channels, written, peak


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
        peak = float(np.max(np.abs(rendered))) if rendered.size else 0.0
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
