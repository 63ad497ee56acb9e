// The footswitch editor of the Setup page: for each switch, what a press and
// a hold do (double press and "while held" behind "More"), a Press button
// (and Hold) that runs it. The mapping is the controller's: choices go out as
// set_footswitch_action, and every footswitches_changed event (from this
// phone, another one, or `pedal ctl`) redraws the rows.

const GESTURES = [
  ["press", "Press", "press"],
  ["long", "Hold", "long press"],
  ["double", "Double", "double press"],
  ["repeat", "While held", "repeat while held"],
];
const MORE = new Set(["double", "repeat"]);
const STEP = { next: "Next", prev: "Previous" };

export class FootswitchEditor {
  // list: the <ul>; app: {state, board, conn, command(), problem()}
  constructor(list, app) {
    this.list = list;
    this.app = app;
    this.rows = null;          // the latest list_footswitches rows
    this.open = new Set();     // switches whose "More" is open
  }

  // A new mapping (from GET /footswitches or a footswitches_changed event).
  show(rows) {
    this.rows = Array.isArray(rows) ? rows : [];
    this.render();
  }

  // The preset changed (its slots and snapshots are the choices): redraw.
  stateChanged() {
    if (this.rows) this.render();
  }

  render() {
    const focused = document.activeElement;
    const key = focused && this.list.contains(focused) ? focused.dataset.key : null;
    this.list.replaceChildren(...this.rows.map((row) => this.row(row)));
    const again = key && this.list.querySelector(`[data-key="${CSS.escape(key)}"]`);
    if (again) again.focus();
  }

  row(fs) {
    const item = document.createElement("li");
    item.className = "fs";
    item.dataset.switch = fs.name;
    item.append(this.head(fs));
    for (const [gesture] of GESTURES.filter(([g]) => !MORE.has(g))) item.append(this.choice(fs, gesture));
    item.append(this.more(fs));
    return item;
  }

  head(fs) {
    const head = document.createElement("div");
    head.className = "fs-head";
    const name = document.createElement("strong");
    name.textContent = fs.name;
    const wiring = document.createElement("span");
    wiring.className = "note";
    wiring.textContent = describeWiring(fs);
    head.append(name, wiring, this.pressButton(fs, false));
    if (fs.long) head.append(this.pressButton(fs, true));
    return head;
  }

  pressButton(fs, long) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = long ? "" : "primary";
    button.textContent = long ? "Hold" : "Press";
    button.dataset.key = `${fs.name}:${long ? "hold" : "press"}-button`;
    button.setAttribute("aria-label", `${long ? "Long-press" : "Press"} footswitch ${fs.name}`);
    button.title = String((long ? fs.long : fs.press) || "nothing mapped");
    button.addEventListener("click", () => this.app.command("press", { switch: fs.name, long }));
    return button;
  }

  // One gesture's menu: label, then a select of every action on offer.
  choice(fs, gesture) {
    const [, said, spoken] = GESTURES.find(([g]) => g === gesture);
    const label = document.createElement("label");
    label.className = "fs-gesture";
    const text = document.createElement("span");
    text.textContent = said;
    const select = document.createElement("select");
    select.dataset.key = `${fs.name}:${gesture}`;
    select.dataset.gesture = gesture;
    select.setAttribute("aria-label", `Footswitch ${fs.name}: ${spoken} action`);
    select.append(...this.options(fs[gesture]));
    select.value = fs[gesture] || "";
    select.title = fs[gesture] ? `${gesture} = "${fs[gesture]}"` : "nothing";
    select.addEventListener("change", () => this.assign(fs, gesture, select));
    label.append(text, select);
    return label;
  }

  more(fs) {
    const details = document.createElement("details");
    details.className = "fs-more";
    details.open = this.open.has(fs.name);
    details.addEventListener("toggle", () => {
      if (details.open) this.open.add(fs.name); else this.open.delete(fs.name);
    });
    const summary = document.createElement("summary");
    summary.dataset.key = `${fs.name}:more`;
    const mapped = [...MORE].filter((g) => fs[g]);
    const said = (g) => GESTURES.find(([k]) => k === g)[2];
    summary.textContent = mapped.length
      ? `More · ${mapped.map((g) => `${said(g)}: ${this.describe(fs[g])}`).join(" · ")}`
      : "More: double press, while held";
    summary.setAttribute("aria-label", `${summary.textContent} (footswitch ${fs.name})`);
    const body = document.createElement("div");
    body.className = "fs-more-body";
    body.append(...[...MORE].map((gesture) => this.choice(fs, gesture)));
    details.append(summary, body);
    return details;
  }

  async assign(fs, gesture, select) {
    const action = select.value || null;
    try {
      await this.app.conn.request("set_footswitch_action", { switch: fs.name, gesture, action });
    } catch (error) {
      select.value = fs[gesture] || "";
      this.app.problem(error);
    }
  }

  // Every action the player may pick, grouped; the current one is always there.
  options(current) {
    const groups = [
      ["Effect on/off", this.slots().map(([id, label]) => [`toggle:${id}`, `${label} on/off`])],
      ["Presets", [["preset:next", "Next preset"], ["preset:prev", "Previous preset"]]],
      ["Banks", [["bank:next", "Next bank"], ["bank:prev", "Previous bank"]]],
      ["Snapshots", this.snapshots()],
      ["Tempo and tuner", [["tap", "Tap tempo"], ["tuner", "Tuner on/off"]]],
    ];
    const offered = new Set(groups.flatMap(([, entries]) => entries.map(([value]) => value)));
    const options = [new Option("Nothing", "")];
    if (current && !offered.has(current)) {
      const absent = current.startsWith("toggle:") ? " (not in this preset)" : "";
      options.push(new Option(`${this.describe(current)}${absent}`, current));
    }
    for (const [name, entries] of groups) {
      if (!entries.length) continue;
      const group = document.createElement("optgroup");
      group.label = name;
      group.append(...entries.map(([value, text]) => new Option(text, value)));
      options.push(group);
    }
    return options;
  }

  // [id, label] of every slot of the live preset, parallel branches included.
  slots() {
    const found = [];
    const visit = (nodes) => {
      for (const node of nodes) {
        if (node.parallel) node.parallel.forEach(visit);
        else found.push([node.id, this.app.board.labelFor(node)]);
      }
    };
    visit((this.app.state && this.app.state.chain) || []);
    return found;
  }

  snapshots() {
    const names = (this.app.state && this.app.state.snapshots) || [];
    return Array.from({ length: 8 }, (_, i) => [
      `snapshot:${i + 1}`, names[i] ? `Snapshot ${i + 1}: ${names[i]}` : `Snapshot ${i + 1}`]);
  }

  // An action ("toggle:reverb", "preset:next", "snapshot:1", "tap", "tuner",
  // "bank:prev", "tempo:120") in words, with the effect's or preset's name.
  describe(action) {
    const [verb, target = ""] = String(action).split(":");
    switch (verb) {
      case "toggle": {
        const slot = this.slots().find(([id]) => id === target);
        return `${slot ? slot[1] : target} on/off`;
      }
      case "preset": return STEP[target] ? `${STEP[target].toLowerCase()} preset` : `preset ${this.presetName(target)}`;
      case "bank": return STEP[target] ? `${STEP[target].toLowerCase()} bank` : `bank ${target}`;
      case "snapshot": return `snapshot ${target}`;
      case "tap": return "tap tempo";
      case "tuner": return "tuner on/off";
      case "tempo": return `tempo ${target} BPM`;
      default: return String(action);
    }
  }

  presetName(id) {
    const presets = (this.app.state && this.app.state.presets) || [];
    const preset = presets.find((p) => p.id === id);
    return preset ? preset.name : id;
  }
}

function describeWiring(fs) {
  const parts = [];
  if (fs.key) parts.push(`key ${fs.key}`);
  if (fs.line !== null && fs.line !== undefined) parts.push(`GPIO ${fs.line}`);
  if (fs.led_line !== null && fs.led_line !== undefined) parts.push(`LED ${fs.led_line}`);
  return parts.join(" · ") || "not wired";
}
