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
from collections.abc import Callable
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
    chain.prepare(sample_rate, channels, MAX_BLOCK)
    chain.reset()
    max_tail = _tail_limit(chain, tail)
    total = frames + int(max_tail * sample_rate)
    out = np.zeros((channels, total), dtype=np.float32)
    out[:, :frames] = audio
    window = max(1, int(SILENCE_WINDOW_S * sample_rate))
    silence = 10.0 ** (SILENCE_DBFS / 20.0)
    position = 0
    quiet_since = frames
    while position < total:
        end = min(total, position + MAX_BLOCK)
        block = out[:, position:end]
        chain.process_inplace(block)
        if end > frames and tail == "auto":
            if np.max(np.abs(block)) > silence:
                quiet_since = end
            elif end - quiet_since >= window:
                position = end
                break
        position = end
        if progress is not None:
            progress(min(position, frames), frames)
    length = position
    if tail == "auto" and length > frames:
        length = max(frames, quiet_since)  # trim what decayed below the floor
    return out[:, :length]


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
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise AudioFileError(f"output folder does not exist: {folder}")
    fmt = _format_for(path)
    if subtype is not None and not sf.check_format(fmt, subtype):
        subtype = None
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=folder)
    os.close(descriptor)
    try:
        sf.write(temporary, audio.T, sample_rate, format=fmt, subtype=subtype)
        os.replace(temporary, path)
    except (sf.LibsndfileError, RuntimeError, OSError) as error:
        raise AudioFileError(f"cannot write {path}: {_short(error)}") from None
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)


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
    audio, rate, info = read_audio(input_path)
    target_rate = int(sample_rate or rate)
    if not 8000 <= target_rate <= 384000:
        raise PedalError(f"--sample-rate {target_rate}: must be within [8000, 384000] Hz")
    audio = resample(audio, rate, target_rate)
    rendered = render_array(chain, audio, target_rate, tail=tail, progress=progress)
    if normalize_dbfs is not None:
        rendered = normalize(rendered, normalize_dbfs)
    peak = float(np.max(np.abs(rendered))) if rendered.size else 0.0
    subtype = _output_subtype(info, output_path)
    clipped = peak > 1.0
    write_audio_atomic(output_path, rendered, target_rate, subtype)
    return RenderResult(
        output=output_path,
        sample_rate=target_rate,
        channels=rendered.shape[0],
        frames=rendered.shape[1],
        peak_dbfs=20.0 * np.log10(peak) if peak > 0 else -np.inf,
        clipped=clipped,
    )
