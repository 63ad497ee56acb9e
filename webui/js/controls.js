// One parameter's control: a slider along the knob's taper, -/+ steps for
// fine adjustment, the value with its unit, and a MIDI-learn button.
//
// Tapers mirror pedalboard.effects.base.Param: "linear", "log" (geometric
// between min and max) and "audio" (10 % of the value at half travel).

const TRAVEL = 1000;      // slider resolution
const FINE_STEP = 5;      // -/+ step: 0.5 % of the travel

export function toPosition(spec, value) {
  const span = spec.max - spec.min;
  if (span <= 0) return 0;
  if (spec.taper === "log" && spec.min > 0) return Math.log(value / spec.min) / Math.log(spec.max / spec.min);
  const fraction = (value - spec.min) / span;
  if (spec.taper === "audio") return Math.log10(1 + 99 * fraction) / 2;
  return fraction;
}

export function fromPosition(spec, position) {
  const p = Math.min(1, Math.max(0, position));
  if (spec.taper === "log" && spec.min > 0) return spec.min * (spec.max / spec.min) ** p;
  const fraction = spec.taper === "audio" ? (10 ** (2 * p) - 1) / 99 : p;
  return spec.min + fraction * (spec.max - spec.min);
}

export function formatValue(spec, value) {
  if (spec.kind === "bool") return value ? "on" : "off";
  if (typeof value !== "number") return String(value);
  const magnitude = Math.abs(value);
  const digits = magnitude >= 100 ? 0 : magnitude >= 10 ? 1 : 2;
  let text = value.toFixed(digits);
  let unit = spec.unit || "";
  if (unit === "Hz" && magnitude >= 1000) { text = (value / 1000).toFixed(2); unit = "kHz"; }
  if (unit === "s" && magnitude < 1) { text = (value * 1000).toFixed(0); unit = "ms"; }
  return unit ? `${text} ${unit}` : text;
}

// Round to what the display shows, so a sweep does not send noise digits.
function tidy(spec, value) {
  const span = Math.abs(spec.max - spec.min) || 1;
  const quantum = 10 ** (Math.floor(Math.log10(span)) - 4);
  return Math.min(spec.max, Math.max(spec.min, Math.round(value / quantum) * quantum));
}

let serial = 0;

// Build the control; `send(value)` returns a promise (the command's ack).
// Returns {element, update(value), busy()}.
export function paramControl(spec, value, { effectLabel, send, learn }) {
  const id = `p${serial++}`;
  const row = document.createElement("div");
  row.className = `param param-${spec.kind}`;
  row.setAttribute("role", "group");
  row.setAttribute("aria-labelledby", `${id}-label`);
  const head = document.createElement("div");
  head.className = "param-head";
  const label = document.createElement("label");
  label.id = `${id}-label`;
  label.htmlFor = id;
  label.textContent = spec.label || spec.name;
  const output = document.createElement("output");
  output.htmlFor = id;
  output.setAttribute("aria-live", "off");
  head.append(label, output);
  row.append(head);

  let dragging = false;
  let inflight = false;
  let queued = null;
  let current = value;

  // Flow control: one command in flight per control; the newest value waits.
  const push = (next) => {
    current = next;
    if (inflight) { queued = next; return; }
    inflight = true;
    send(next).catch((error) => row.dispatchEvent(new CustomEvent("problem", { detail: error, bubbles: true })))
      .finally(() => {
        inflight = false;
        if (queued !== null) { const again = queued; queued = null; push(again); }
      });
  };

  let update;
  let midi = null;
  if (spec.kind === "float") {
    const line = document.createElement("div");
    line.className = "param-line";
    const minus = stepButton("−", `Decrease ${spec.label}`);
    const plus = stepButton("+", `Increase ${spec.label}`);
    const slider = document.createElement("input");
    slider.type = "range";
    slider.id = id;
    slider.min = "0";
    slider.max = String(TRAVEL);
    slider.step = "1";
    slider.className = "slider";
    slider.dataset.param = spec.name;
    const show = (v) => {
      const text = formatValue(spec, v);
      output.textContent = text;
      slider.setAttribute("aria-valuetext", text);
    };
    update = (v) => {
      current = v;
      if (dragging) return;
      slider.value = String(Math.round(toPosition(spec, v) * TRAVEL));
      show(v);
    };
    slider.addEventListener("input", () => {
      const v = tidy(spec, fromPosition(spec, Number(slider.value) / TRAVEL));
      show(v);
      push(v);
    });
    slider.addEventListener("pointerdown", () => { dragging = true; });
    const release = () => { dragging = false; update(current); };
    slider.addEventListener("pointerup", release);
    slider.addEventListener("pointercancel", release);
    slider.addEventListener("change", release);
    // Double-tap (or double-click) a slider: back to the effect's default,
    // as on a hardware modeller's knob. The first tap's jump is undone too.
    if (typeof spec.default === "number") {
      slider.title = `Double-tap: back to ${formatValue(spec, spec.default)}`;
      slider.addEventListener("dblclick", () => {
        dragging = false;
        update(spec.default);
        push(spec.default);
      });
    }
    const nudge = (direction) => {
      const position = Math.round(toPosition(spec, current) * TRAVEL) + direction * FINE_STEP;
      const v = tidy(spec, fromPosition(spec, position / TRAVEL));
      update(v);
      push(v);
    };
    repeatOnHold(minus, () => nudge(-1));
    repeatOnHold(plus, () => nudge(1));
    line.append(minus, slider, plus);
    if (learn) {
      midi = learnButton(spec, effectLabel, learn);
      line.append(midi.element);
    }
    row.append(line);
  } else if (spec.kind === "bool") {
    const toggle = document.createElement("button");
    toggle.type = "button";
    toggle.id = id;
    toggle.className = "switch";
    toggle.setAttribute("role", "switch");
    update = (v) => {
      current = Boolean(v);
      toggle.setAttribute("aria-checked", String(current));
      toggle.textContent = current ? "On" : "Off";
      output.textContent = "";
    };
    toggle.addEventListener("click", () => { update(!current); push(current); });
    row.append(toggle);
  } else if (spec.kind === "choice") {
    const select = document.createElement("select");
    select.id = id;
    for (const choice of spec.choices) select.append(new Option(choice, choice));
    update = (v) => { current = v; select.value = v; output.textContent = ""; };
    select.addEventListener("change", () => push(select.value));
    row.append(select);
  } else {
    update = (v) => { current = v; output.textContent = String(v); };
  }
  update(value);
  return { element: row, update, busy: () => dragging, showMidi: (m) => midi && midi.show(m) };
}

function stepButton(text, label) {
  const button = document.createElement("button");
  button.type = "button";
  button.className = "step";
  button.textContent = text;
  button.setAttribute("aria-label", label);
  return button;
}

// Press: one step; hold: repeat (fine adjustment without a steady hand).
function repeatOnHold(button, action) {
  let timer = null;
  const stop = () => { clearTimeout(timer); clearInterval(timer); timer = null; };
  button.addEventListener("pointerdown", (e) => {
    e.preventDefault();
    action();
    timer = setTimeout(() => { timer = setInterval(action, 60); }, 400);
  });
  for (const name of ["pointerup", "pointerleave", "pointercancel"]) button.addEventListener(name, stop);
  button.addEventListener("keydown", (e) => {
    if (e.key === "Enter" || e.key === " ") { e.preventDefault(); action(); }
  });
}

// MIDI learn: press, then move a knob on the controller; the button then
// names the CC that moves this parameter. `learn(param)` resolves with the
// new mapping ({cc, channel, ...}) or null when no CC arrived in time.
function learnButton(spec, effectLabel, learn) {
  const button = document.createElement("button");
  button.type = "button";
  button.className = "learn";
  button.setAttribute("aria-pressed", "false");
  let mapping = null;
  const show = (next) => {
    mapping = next || null;
    button.setAttribute("aria-pressed", "false");
    button.textContent = mapping ? `CC ${mapping.cc}` : "MIDI";
    const mapped = mapping ? ` (now CC ${mapping.cc}${mapping.channel ? ` on channel ${mapping.channel}` : ""})` : "";
    button.setAttribute("aria-label", `MIDI learn: ${effectLabel} ${spec.label}${mapped}`);
  };
  show(null);
  button.addEventListener("click", async () => {
    if (button.getAttribute("aria-pressed") === "true") return;
    button.setAttribute("aria-pressed", "true");
    button.textContent = "Move a CC…";
    try {
      const learned = await learn(spec.name);
      show(learned || mapping);
      if (!learned) throw new Error(`MIDI learn: no control change arrived for ${effectLabel} ${spec.label}`);
    } catch (error) {
      show(mapping);
      button.dispatchEvent(new CustomEvent("problem", { detail: error, bubbles: true }));
    }
  });
  return { element: button, show };
}
