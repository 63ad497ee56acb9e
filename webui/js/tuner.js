// The tuner display and the input/output meters in the header.

export class Tuner {
  constructor(app) {
    this.app = app;
    this.on = false;
    this.toggle = document.querySelector("#tuner-toggle");
    this.note = document.querySelector("#tuner-note");
    this.needle = document.querySelector("#tuner-needle");
    this.detail = document.querySelector("#tuner-detail");
    this.meterIn = document.querySelector("#meter-in");
    this.meterOut = document.querySelector("#meter-out");
    this.dsp = document.querySelector("#dsp");
    this.toggle.addEventListener("click", () => app.command("tuner", { on: !this.on }));
  }

  setOn(on) {
    this.on = Boolean(on);
    this.toggle.setAttribute("aria-checked", String(this.on));
    this.toggle.textContent = this.on ? "Tuner on (output muted)" : "Tuner off";
    if (!this.on) this.reading(null);
  }

  reading(data) {
    if (!data) {
      this.note.textContent = "–";
      this.detail.textContent = this.on ? "play a string" : "tuner is off";
      this.needle.style.setProperty("--cents", "0");
      this.note.className = "tuner-note";
      return;
    }
    const cents = Math.max(-50, Math.min(50, data.cents));
    this.note.textContent = data.note;
    this.needle.style.setProperty("--cents", String(cents));
    const inTune = Math.abs(cents) <= 3;
    this.note.className = `tuner-note ${inTune ? "in-tune" : cents < 0 ? "flat" : "sharp"}`;
    const sign = cents > 0 ? "+" : "";
    this.detail.textContent = `${data.frequency_hz.toFixed(1)} Hz, ${sign}${cents.toFixed(0)} cents${inTune ? " — in tune" : ""}`;
  }

  // Offline: no reading is better than a stale one.
  clearMeters() {
    for (const meter of [this.meterIn, this.meterOut]) {
      meter.value = -60;
      meter.removeAttribute("aria-valuetext");
    }
    this.dsp.textContent = "DSP –";
  }

  meters(data) {
    if (!data) return;
    const clamp = (db) => Math.max(-60, Math.min(0, Number.isFinite(db) ? db : -60));
    this.meterIn.value = clamp(data.input_peak_db);
    this.meterOut.value = clamp(data.output_peak_db);
    this.meterIn.setAttribute("aria-valuetext", `input ${clamp(data.input_peak_db).toFixed(0)} dB`);
    this.meterOut.setAttribute("aria-valuetext", `output ${clamp(data.output_peak_db).toFixed(0)} dB`);
    this.dsp.textContent = `DSP ${(100 * data.dsp_load_p99).toFixed(0)} %${data.xruns ? ` · ${data.xruns} xruns` : ""}`;
  }
}
