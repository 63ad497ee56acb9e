"""Cabinet: a guitar speaker cabinet by impulse-response convolution, with zero latency.

A miked cabinet is a linear filter, fully described by its impulse response
(IR): play the IR's recording of a click through convolution and any guitar
sounds as if played through that cabinet. Convolving with an N-tap IR
directly costs N multiplies per sample; FFTs make it cheap but work on
blocks, which normally delays the output by a block. This effect has both:

* the **head** (the first ``PARTITION`` taps) is a direct-form FIR, computed
  per sample, so the output starts at once (``latency`` 0);
* the **tail** (the rest) is *uniformly partitioned overlap-save
  convolution*: the IR is cut into partitions of ``PARTITION`` taps whose
  spectra (FFT size ``2 * PARTITION``) multiply the spectra of past input
  partitions held in a frequency-domain delay line. Partition ``p >= 1`` only
  needs input that is at least one partition old, so the tail of the next
  partition is computed when an input partition completes, before it is due.

Every step runs per sample or at fixed partition boundaries of the input
stream, never at the caller's block boundaries, so blocks of 1 frame and of
4096 give the same output. The FFT is a compiled radix-2 real FFT working in
preallocated arrays; nothing is allocated while audio runs. The FFT work of
a partition lands in whichever block completes it (every 256 samples, a few
microseconds for the bundled IRs), so live blocks of 64 frames cost
unevenly: one in four does the FFTs.

Changing ``ir`` or ``impulse_response_filename`` reads the file and rebuilds
the partitions inside ``set_param``: that belongs to a preset change made
off the audio thread, not to a knob turn.

The IR comes from ``ir`` (a bundled cabinet made by ``scripts/make_irs.py``)
or, when ``impulse_response_filename`` is set, from that WAV/FLAC file (mixed
to mono, resampled with soxr to the effect's rate, its gain preserved). The
output is ``level * (mix * wet + (1 - mix) * dry)``.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from pedalboard.effects.base import Effect, Param
from pedalboard.effects.dsp import DENORMAL_FLOOR, db_to_gain, jit
from pedalboard.effects.registry import register
from pedalboard.errors import AudioFileError
from pedalboard.jit import kernel

#: Taps in the direct-form head and in each FFT partition of the tail.
PARTITION = 256
#: Longest IR accepted (seconds): a cabinet is < 0.2 s; this admits rooms.
MAX_IR_SECONDS = 10.0
DATA_DIR = Path(__file__).resolve().parent.parent / "data"
BUNDLED_IRS = {
    "4x12_closed": "cab_4x12_closed.wav",
    "1x12_open": "cab_1x12_open.wav",
}


# --------------------------------------------------------------------- FFT
def fft_tables(size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Bit-reversal swaps (index pairs) and twiddles of a radix-2 complex FFT
    of ``size`` points. The stage of butterflies ``h`` apart reads its twiddles
    ``exp(-i pi k / h)``, ``k < h``, at ``[h + k]``: contiguous, so it vectorises."""
    bits = int(math.log2(size))
    index = np.arange(size)
    reverse = np.zeros(size, dtype=np.int64)
    for b in range(bits):
        reverse |= ((index >> b) & 1) << (bits - 1 - b)
    # Only the pairs that move, listed: no unpredictable branch per element.
    moves = index < reverse
    swaps = np.ascontiguousarray(np.stack([index[moves], reverse[moves]], axis=1))
    cos_t = np.ones(max(size, 2))
    sin_t = np.zeros(max(size, 2))
    half = 1
    while half < size:
        angle = -np.pi * np.arange(half) / half
        cos_t[half : 2 * half] = np.cos(angle)
        sin_t[half : 2 * half] = np.sin(angle)
        half *= 2
    return swaps, cos_t, sin_t


@jit
def _fft(re, im, reverse, cos_t, sin_t, inverse: bool) -> None:
    """In-place iterative radix-2 complex FFT (unscaled in both directions).
    The first two stages, whose twiddles are 1 and -i, skip the multiplies."""
    n = re.shape[0]
    for s in range(reverse.shape[0]):
        i = reverse[s, 0]
        j = reverse[s, 1]
        re[i], re[j] = re[j], re[i]
        im[i], im[j] = im[j], im[i]
    for a in range(0, n, 2):
        tr = re[a + 1]
        ti = im[a + 1]
        re[a + 1] = re[a] - tr
        im[a + 1] = im[a] - ti
        re[a] += tr
        im[a] += ti
    sign = -1.0 if inverse else 1.0
    if n >= 4:
        for a in range(0, n, 4):
            tr = re[a + 2]
            ti = im[a + 2]
            re[a + 2] = re[a] - tr
            im[a + 2] = im[a] - ti
            re[a] += tr
            im[a] += ti
            # times -i forward (+i inverse)
            tr = sign * im[a + 3]
            ti = -sign * re[a + 3]
            re[a + 3] = re[a + 1] - tr
            im[a + 3] = im[a + 1] - ti
            re[a + 1] += tr
            im[a + 1] += ti
    half = 4
    while half < n:
        if half < 16:  # short runs: one twiddle for a strided sweep
            for k in range(half):
                wr = cos_t[half + k]
                wi = sign * sin_t[half + k]
                for a in range(k, n, 2 * half):
                    b = a + half
                    tr = wr * re[b] - wi * im[b]
                    ti = wr * im[b] + wi * re[b]
                    re[b] = re[a] - tr
                    im[b] = im[a] - ti
                    re[a] += tr
                    im[a] += ti
        else:  # long runs: contiguous, vectorised
            for start in range(0, n, 2 * half):
                for k in range(half):
                    wr = cos_t[half + k]
                    wi = sign * sin_t[half + k]
                    a = start + k
                    b = a + half
                    tr = wr * re[b] - wi * im[b]
                    ti = wr * im[b] + wi * re[b]
                    re[b] = re[a] - tr
                    im[b] = im[a] - ti
                    re[a] += tr
                    im[a] += ti
        half *= 2


@jit
def _rfft(x, out_re, out_im, zr, zi, reverse, cos_t, sin_t, cos_n, sin_n) -> None:
    """Spectrum bins 0..B of the 2B real samples ``x`` (B = len(zr)), through a
    B-point complex FFT of the even/odd samples packed as re/im."""
    half = zr.shape[0]
    for n in range(half):
        zr[n] = x[2 * n]
        zi[n] = x[2 * n + 1]
    _fft(zr, zi, reverse, cos_t, sin_t, False)
    out_re[0] = zr[0] + zi[0]
    out_im[0] = 0.0
    out_re[half] = zr[0] - zi[0]
    out_im[half] = 0.0
    for k in range(1, half):
        b = half - k
        er = 0.5 * (zr[k] + zr[b])
        ei = 0.5 * (zi[k] - zi[b])
        orr = 0.5 * (zi[k] + zi[b])
        oi = -0.5 * (zr[k] - zr[b])
        wr = cos_n[k]
        wi = sin_n[k]
        out_re[k] = er + wr * orr - wi * oi
        out_im[k] = ei + wr * oi + wi * orr


@jit
def _irfft(in_re, in_im, x, zr, zi, reverse, cos_t, sin_t, cos_n, sin_n) -> None:
    """Inverse of :func:`_rfft` (unscaled: the result is B times the signal)."""
    half = zr.shape[0]
    for k in range(half):
        b = half - k
        er = 0.5 * (in_re[k] + in_re[b])
        ei = 0.5 * (in_im[k] - in_im[b])
        dr = 0.5 * (in_re[k] - in_re[b])
        di = 0.5 * (in_im[k] + in_im[b])
        wr = cos_n[k]
        wi = -sin_n[k]
        orr = dr * wr - di * wi
        oi = dr * wi + di * wr
        zr[k] = er - oi
        zi[k] = ei + orr
    _fft(zr, zi, reverse, cos_t, sin_t, True)
    for n in range(half):
        x[2 * n] = zr[n]
        x[2 * n + 1] = zi[n]


# ------------------------------------------------------------------ kernel
@kernel(fastmath=True)
def _spectral_sum(h_re, h_im, x_re, x_im, newest, acc_re, acc_im) -> None:
    """``acc = sum_p H_p * X[newest - p]``: the frequency-domain delay line
    (complex multiply-accumulate, vectorised)."""
    parts, bins = h_re.shape
    depth = x_re.shape[0]
    for k in range(bins):
        acc_re[k] = 0.0
        acc_im[k] = 0.0
    for p in range(parts):
        q = newest - p
        if q < 0:
            q += depth
        for k in range(bins):
            hr = h_re[p, k]
            hi = h_im[p, k]
            xr = x_re[q, k]
            xi = x_im[q, k]
            acc_re[k] += hr * xr - hi * xi
            acc_im[k] += hr * xi + hi * xr


@jit
def _partition_step(c, seg, spec, fdl_re, fdl_im, slot, h_re, h_im, acc_re,
                    acc_im, tail, zr, zi, reverse, cos_t, sin_t, cos_n, sin_n) -> None:
    """An input partition of channel ``c`` is complete: file its spectrum in the
    delay line and compute the tail output of the next partition."""
    size = seg.shape[1]
    half = size // 2
    depth = fdl_re.shape[1]
    s = slot[c]
    _rfft(seg[c], fdl_re[c, s], fdl_im[c, s], zr, zi, reverse, cos_t, sin_t, cos_n, sin_n)
    _spectral_sum(h_re, h_im, fdl_re[c], fdl_im[c], s, acc_re, acc_im)
    _irfft(acc_re, acc_im, spec, zr, zi, reverse, cos_t, sin_t, cos_n, sin_n)
    for n in range(half):
        v = spec[half + n]
        tail[c, n] = v if abs(v) > DENORMAL_FLOOR else 0.0
        seg[c, n] = seg[c, half + n]  # this partition is the next one's overlap
    slot[c] = s + 1 if s + 1 < depth else 0


@kernel(fastmath=True)
def _head_fir(head_reversed, line, out, frames) -> None:
    """Direct-form FIR: ``out[i] = sum_k head[k] * x[i - k]``. ``fastmath`` lets
    the sums vectorise, and four outputs at a time give the CPU four
    independent chains; a sample's sum is the same whatever the block size
    (to rounding)."""
    taps = head_reversed.shape[0]
    i = 0
    while i + 4 <= frames:
        s0 = 0.0
        s1 = 0.0
        s2 = 0.0
        s3 = 0.0
        for k in range(taps):
            h = head_reversed[k]
            s0 += h * line[i + k]
            s1 += h * line[i + 1 + k]
            s2 += h * line[i + 2 + k]
            s3 += h * line[i + 3 + k]
        out[i] = s0
        out[i + 1] = s1
        out[i + 2] = s2
        out[i + 3] = s3
        i += 4
    while i < frames:
        acc = 0.0
        for k in range(taps):
            acc += head_reversed[k] * line[i + k]
        out[i] = acc
        i += 1


@jit
def _cabinet_kernel(block, head, hist, line, seg, tail, phase, fdl_re, fdl_im, slot, h_re,
                    h_im, acc_re, acc_im, spec, zr, zi, reverse, cos_t, sin_t, cos_n, sin_n,
                    out, gains) -> None:
    """Convolve every channel of ``block`` in place.

    ``head``: the first B taps, reversed. ``hist[c]``: the last B-1 inputs;
    ``seg[c]``: the previous and the filling input partition; ``tail[c]``:
    the tail output of the current partition; ``phase[0]``: position inside
    the partition.
    ``gains``: wet start/end, dry start/end (level folded in).
    """
    channels, frames = block.shape
    taps = head.shape[0]
    half = seg.shape[1] // 2
    has_tail = h_re.shape[0] > 0
    step = 1.0 / max(frames, 1)
    for c in range(channels):
        for k in range(taps - 1):
            line[k] = hist[c, k]
        for i in range(frames):
            line[taps - 1 + i] = block[c, i]
        _head_fir(head, line, out, frames)
        for k in range(taps - 1):
            hist[c, k] = line[frames + k]
        j = phase[0]
        for i in range(frames):
            out[i] += tail[c, j]
            seg[c, half + j] = line[taps - 1 + i]
            j += 1
            if j == half:
                j = 0
                if has_tail:
                    _partition_step(c, seg, spec, fdl_re, fdl_im, slot, h_re, h_im,
                                    acc_re, acc_im, tail, zr, zi, reverse, cos_t, sin_t,
                                    cos_n, sin_n)
                else:
                    for n in range(half):
                        seg[c, n] = seg[c, half + n]
        wet = gains[0]
        dry = gains[2]
        wet_step = (gains[1] - gains[0]) * step
        dry_step = (gains[3] - gains[2]) * step
        for i in range(frames):
            wet += wet_step
            dry += dry_step
            block[c, i] = wet * out[i] + dry * line[taps - 1 + i]
    phase[0] = (phase[0] + frames) % half


# ------------------------------------------------------------------ effect
def load_impulse_response(path: str | Path) -> tuple[np.ndarray, float]:
    """Read an IR file as mono float64 and its sample rate, or raise
    :class:`AudioFileError` naming the file."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise AudioFileError(f"cabinet: impulse response file {str(path)!r} does not exist")
    try:
        data, rate = sf.read(str(path), dtype="float64", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, ValueError) as error:
        raise AudioFileError(
            f"cabinet: cannot read impulse response {str(path)!r}: {error}"
        ) from None
    if data.shape[0] == 0:
        raise AudioFileError(f"cabinet: impulse response {str(path)!r} is empty")
    if data.shape[0] > MAX_IR_SECONDS * rate:
        raise AudioFileError(
            f"cabinet: impulse response {str(path)!r} is longer than {MAX_IR_SECONDS:g} s"
        )
    ir = data.mean(axis=1)
    if not np.all(np.isfinite(ir)):
        raise AudioFileError(f"cabinet: impulse response {str(path)!r} has NaN or inf samples")
    return ir, float(rate)


@register
class Cabinet(Effect):
    """Speaker-cabinet simulation: zero-latency partitioned convolution with an IR."""

    name = "cabinet"
    label = "Cabinet"
    category = "amp"
    PARAMS = (
        Param("ir", "4x12_closed", kind="choice", choices=tuple(BUNDLED_IRS),
              label="Cabinet", description="Bundled cabinet impulse response."),
        Param("impulse_response_filename", "", kind="text", label="IR file",
              description="A WAV/FLAC impulse response; overrides the bundled cabinet."),
        Param("mix", 1.0, 0.0, 1.0, label="Mix"),
        Param("level_db", 0.0, -40.0, 12.0, unit="dB", label="Level"),
    )

    def __init__(self, **values: object) -> None:
        self._raw_ir: np.ndarray | None = None
        self._raw_rate = 48000.0
        self._loaded_from: dict[str, object] = {}
        super().__init__(**values)
        if self._raw_ir is None:
            self._load_ir()

    # ---------------------------------------------------------------- the IR
    def _on_param_change(self, name: str) -> None:
        if name not in ("ir", "impulse_response_filename"):
            return
        try:
            self._load_ir()
        except AudioFileError:
            # Keep playing (and reporting) the last IR that loaded.
            self._values.update(self._loaded_from)
            raise

    def _load_ir(self) -> None:
        """Read the IR the parameters name. Runs when they change (file I/O and
        allocation: a preset change, not the audio path)."""
        filename = str(self._values["impulse_response_filename"])
        if filename:
            self._raw_ir, self._raw_rate = load_impulse_response(filename)
        else:
            self._raw_ir, self._raw_rate = load_impulse_response(
                DATA_DIR / BUNDLED_IRS[str(self._values["ir"])]
            )
        self._loaded_from = {key: self._values[key] for key in ("ir", "impulse_response_filename")}
        if self.sample_rate:
            self._build_partitions()
            self._clear_state()

    def impulse_response(self) -> np.ndarray:
        """The IR the output is convolved with: at the prepared sample rate, or
        at the file's own rate before ``prepare``."""
        if not self.sample_rate:
            return self._raw_ir.copy()
        return self._ir.copy()

    def _build_partitions(self) -> None:
        """Resample the IR to our rate and cut it into head and tail spectra.
        Runs when the IR or the rate changes, never per block."""
        ir = self._raw_ir
        if self._raw_rate != self.sample_rate:
            ir = soxr.resample(ir, self._raw_rate, self.sample_rate, quality="VHQ")
            ir = ir * (self._raw_rate / self.sample_rate)  # keep the frequency response's gain
        self._ir = np.asarray(ir, dtype=np.float64)
        half = PARTITION
        head = np.zeros(half)
        head[: min(half, len(ir))] = ir[:half]
        self._head = np.ascontiguousarray(head[::-1])  # reversed for the dot product
        parts = max(0, math.ceil((len(ir) - half) / half))
        padded = np.zeros((parts + 1) * half)
        padded[: len(ir)] = ir
        frames = np.zeros((parts, 2 * half))
        frames[:, :half] = padded[half:].reshape(parts, half)
        # Fold the inverse FFT's 1/B scale into the partition spectra.
        spectra = np.fft.rfft(frames, axis=1) / half
        self._h_re = np.ascontiguousarray(spectra.real)
        self._h_im = np.ascontiguousarray(spectra.imag)
        depth = max(parts, 1)
        self._fdl_re = np.zeros((self.channels, depth, half + 1))
        self._fdl_im = np.zeros((self.channels, depth, half + 1))

    # ------------------------------------------------------------ lifecycle
    def _allocate(self) -> None:
        half = PARTITION
        self._reverse, self._cos_t, self._sin_t = fft_tables(half)
        angle = -np.pi * np.arange(half + 1) / half
        self._cos_n, self._sin_n = np.cos(angle), np.sin(angle)
        self._zr, self._zi = np.zeros(half), np.zeros(half)
        self._acc_re, self._acc_im = np.zeros(half + 1), np.zeros(half + 1)
        self._spec = np.zeros(2 * half)
        self._hist = np.zeros((self.channels, half - 1))
        self._seg = np.zeros((self.channels, 2 * half))
        self._tail = np.zeros((self.channels, half))
        self._phase = np.zeros(1, dtype=np.int64)
        self._slot = np.zeros(self.channels, dtype=np.int64)
        self._line = np.zeros(half - 1 + self.max_block)
        self._out = np.zeros(self.max_block)
        self._gains = np.zeros(4)
        self._build_partitions()

    def _clear_state(self) -> None:
        for array in (self._hist, self._seg, self._tail, self._phase, self._slot,
                      self._fdl_re, self._fdl_im):
            array[:] = 0

    def _reset(self) -> None:
        self._clear_state()
        self._target_gains(self._gains[0::2])
        self._gains[1::2] = self._gains[0::2]

    def _target_gains(self, out: np.ndarray) -> None:
        level = db_to_gain(self.value("level_db"))
        mix = self.value("mix")
        out[0] = level * mix
        out[1] = level * (1.0 - mix)

    def _configure(self) -> None:
        self._gains[0::2] = self._gains[1::2]
        self._target_gains(self._gains[1::2])

    def _process(self, block: np.ndarray) -> None:
        _cabinet_kernel(block, self._head, self._hist, self._line, self._seg, self._tail,
                        self._phase, self._fdl_re, self._fdl_im, self._slot, self._h_re,
                        self._h_im, self._acc_re, self._acc_im, self._spec, self._zr,
                        self._zi, self._reverse, self._cos_t, self._sin_t, self._cos_n,
                        self._sin_n, self._out, self._gains)
        self._gains[0::2] = self._gains[1::2]

    @property
    def tail_seconds(self) -> float:
        """The IR's length."""
        if self._raw_ir is None:
            return 0.0
        return len(self._raw_ir) / self._raw_rate
