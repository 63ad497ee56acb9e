// An adaptive jitter buffer in the audio thread. Decoded PCM arrives in
// chunks from the main thread; playback starts once `target` samples are
// buffered. An underrun raises the target (up to 200 ms); a buffer that stays
// well above the target is trimmed, so latency comes back down after a hiccup.
class JitterBuffer extends AudioWorkletProcessor {
  constructor(options) {
    super();
    this.channels = options.processorOptions.channels;
    this.capacity = sampleRate * 2;
    this.ring = Array.from({ length: this.channels }, () => new Float32Array(this.capacity));
    this.read = 0;
    this.write = 0;
    this.target = Math.round(sampleRate * 0.03);
    this.playing = false;
    this.underruns = 0;
    this.frames = 0;
    this.threshold = 0.3;
    this.port.onmessage = (event) => this.push(event.data);
  }
  get level() { return this.write - this.read; }
  push(planes) {
    const n = planes[0].length;
    if (this.level + n > this.capacity) this.read = this.write + n - this.capacity;
    for (let c = 0; c < this.channels; c++) {
      const src = planes[Math.min(c, planes.length - 1)];
      for (let i = 0; i < n; i++) this.ring[c][(this.write + i) % this.capacity] = src[i];
    }
    this.write += n;
  }
  process(inputs, outputs) {
    const out = outputs[0];
    const n = out[0].length;
    if (!this.playing && this.level >= this.target) this.playing = true;
    if (this.playing && this.level < n) {
      this.playing = false;
      this.underruns++;
      this.target = Math.min(Math.round(sampleRate * 0.2), this.target + Math.round(sampleRate * 0.01));
    }
    if (this.playing && this.level > this.target + sampleRate * 0.06) {
      this.read = this.write - this.target;  // drift back down to the target
    }
    let peak = 0;
    for (let c = 0; c < out.length; c++) {
      const ring = this.ring[Math.min(c, this.channels - 1)];
      for (let i = 0; i < n; i++) {
        const x = this.playing ? ring[(this.read + i) % this.capacity] : 0;
        out[c][i] = x;
        if (c === 0 && Math.abs(x) > peak) peak = Math.abs(x);
      }
    }
    if (this.playing) this.read += n;
    this.frames += n;
    // Report onsets (for latency measurement) and the buffer state.
    if (peak > this.threshold) {
      this.port.postMessage({ type: "onset", frame: currentFrame, peak });
      this.threshold = 1e9;  // re-armed after silence
    } else if (peak < 0.01) {
      this.threshold = 0.3;
    }
    if (this.frames % (n * 40) === 0) {
      this.port.postMessage({ type: "buffer", level: this.level, target: this.target,
                              underruns: this.underruns, playing: this.playing });
    }
    return true;
  }
}
registerProcessor("jitter-buffer", JitterBuffer);
