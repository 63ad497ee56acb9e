// The board: the chain as stomp boxes with on/off, their controls, drag (or
// arrow keys) to reorder, add and remove effects.

import { paramControl } from "./controls.js";

export class Board {
  // app: {conn, catalogue: Map(effect -> describe()), circuits: Map(netlist -> entry), problem(err)}
  constructor(root, app) {
    this.root = root;
    this.app = app;
    this.controls = new Map();   // "slot.param" -> control
    this.stomps = new Map();     // slot -> button
    this.expanded = new Set();
    this.list = root.querySelector("#chain");
    root.querySelector("#add-effect").addEventListener("submit", (e) => this.add(e));
  }

  specsFor(slot) {
    const described = this.app.catalogue.get(slot.effect);
    let params = described ? described.params : [];
    if (slot.effect === "circuit") {
      const circuit = this.app.circuits.get(slot.params.netlist);
      if (circuit && circuit.params.length) params = circuit.params;
    }
    return params.filter((p) => p.name !== "netlist");
  }

  labelFor(slot) {
    if (slot.effect === "circuit" && slot.params.netlist) {
      const circuit = this.app.circuits.get(slot.params.netlist);
      return circuit ? circuit.label : slot.params.netlist;
    }
    const described = this.app.catalogue.get(slot.effect);
    return described ? described.label : slot.effect;
  }

  render(state) {
    // A keyboard user moving a card with the arrow keys keeps the focus on its
    // handle (or whichever button of the card had it) across the re-render.
    const focused = document.activeElement;
    const card = focused && this.list.contains(focused) ? focused.closest(".pedal") : null;
    const refocus = card && focused.classList.length ? [card.dataset.slot, focused.classList[0]] : null;
    this.controls.clear();
    this.stomps.clear();
    this.list.replaceChildren(...state.chain.map((node, index) => this.card(node, index, state.chain.length)));
    if (refocus) {
      const again = this.list.querySelector(`.pedal[data-slot="${CSS.escape(refocus[0])}"] .${CSS.escape(refocus[1])}`);
      if (again) again.focus();
    }
    const picker = this.root.querySelector("#add-effect select");
    if (picker.options.length === 0) {
      for (const effect of this.app.catalogue.values()) picker.append(new Option(effect.label, effect.effect));
      for (const circuit of this.app.circuits.values()) {
        if (!circuit.error) picker.append(new Option(`Circuit: ${circuit.label}`, `circuit:${circuit.netlist}`));
      }
    }
  }

  card(node, index, count) {
    const item = document.createElement("li");
    item.className = "pedal";
    item.dataset.slot = node.id;
    const label = node.parallel ? "Parallel split" : this.labelFor(node);
    const head = document.createElement("div");
    head.className = "pedal-head";

    const handle = document.createElement("button");
    handle.type = "button";
    handle.className = "handle";
    handle.textContent = "⠿";
    handle.setAttribute("aria-label", `Move ${label} (position ${index + 1} of ${count}; arrow keys move it)`);
    this.draggable(handle, item, node.id);

    const name = document.createElement("button");
    name.type = "button";
    name.className = "pedal-name";
    name.textContent = label;
    const panelId = `controls-${node.id}`;
    name.setAttribute("aria-controls", panelId);

    const stomp = document.createElement("button");
    stomp.type = "button";
    stomp.className = "stomp";
    stomp.dataset.slot = node.id;
    stomp.addEventListener("click", () => {
      this.app.conn.request("toggle", { slot: node.id }).catch((e) => this.app.problem(e));
    });
    this.stomps.set(node.id, { button: stomp, label, item });
    this.showBypass(node.id, node.bypass);
    head.append(handle, name, stomp);
    item.append(head);

    const panel = document.createElement("div");
    panel.className = "pedal-controls";
    panel.id = panelId;
    const open = this.expanded.has(node.id);
    panel.hidden = !open;
    name.setAttribute("aria-expanded", String(open));
    name.addEventListener("click", () => {
      const now = panel.hidden;
      panel.hidden = !now;
      name.setAttribute("aria-expanded", String(now));
      if (now) this.expanded.add(node.id); else this.expanded.delete(node.id);
    });
    if (node.parallel) {
      const branches = document.createElement("p");
      branches.className = "note";
      branches.textContent = node.parallel.map((branch, i) =>
        `Branch ${i + 1}: ${branch.map((n) => this.labelFor(n)).join(" → ") || "dry"}`).join(" · ") +
        ` · mix ${Math.round(node.mix * 100)} %`;
      panel.append(branches);
    } else {
      for (const spec of this.specsFor(node)) {
        const control = paramControl(spec, node.params[spec.name] ?? spec.default, {
          effectLabel: label,
          send: (value) => this.app.conn.request("set_param", { slot: node.id, param: spec.name, value }),
          learn: (param) => this.app.midi.learn(node.id, param),
        });
        this.controls.set(`${node.id}.${spec.name}`, control);
        control.showMidi(this.app.midi.mappingOf(node.id, spec.name));
        panel.append(control.element);
      }
    }
    const remove = document.createElement("button");
    remove.type = "button";
    remove.className = "remove";
    remove.textContent = "Remove";
    remove.setAttribute("aria-label", `Remove ${label} from the chain`);
    remove.addEventListener("click", () => {
      if (confirm(`Remove ${label}?`)) {
        this.app.conn.request("remove_effect", { slot: node.id }).catch((e) => this.app.problem(e));
      }
    });
    panel.append(remove);
    item.append(panel);
    return item;
  }

  showBypass(slotId, bypass) {
    const entry = this.stomps.get(slotId);
    if (!entry) return;
    entry.button.setAttribute("aria-pressed", String(!bypass));
    entry.button.setAttribute("aria-label", `${entry.label}: ${bypass ? "off" : "on"} (tap to switch)`);
    entry.button.textContent = bypass ? "OFF" : "ON";
    entry.item.classList.toggle("bypassed", Boolean(bypass));
  }

  // MIDI mappings changed: every learn button names its CC again.
  showMidi(maps) {
    for (const [key, control] of this.controls) {
      const [slot, param] = key.split(".");
      control.showMidi(maps.mappingOf(slot, param));
    }
  }

  setParam(slotId, param, value) {
    const control = this.controls.get(`${slotId}.${param}`);
    if (control) control.update(value);
  }

  // Reorder by dragging the handle (pointer events work for touch and mouse)
  // or with the arrow keys on the focused handle.
  draggable(handle, item, slotId) {
    const move = (index) => this.app.conn.request("move_effect", { slot: slotId, index })
      .catch((e) => this.app.problem(e));
    const position = () => [...this.list.children].indexOf(item);
    handle.addEventListener("keydown", (e) => {
      if (e.key === "ArrowUp" && position() > 0) { e.preventDefault(); move(position() - 1); }
      if (e.key === "ArrowDown" && position() < this.list.children.length - 1) { e.preventDefault(); move(position() + 1); }
    });
    // Moves and the release are followed on the window: re-inserting the card
    // in the list (the live preview) would drop a pointer capture.
    handle.addEventListener("pointerdown", (e) => {
      e.preventDefault();
      const start = position();
      item.classList.add("dragging");
      const onMove = (ev) => {
        const siblings = [...this.list.children].filter((c) => c !== item);
        let target = siblings.findIndex((c) => {
          const box = c.getBoundingClientRect();
          return ev.clientY < box.top + box.height / 2;
        });
        if (target < 0) target = siblings.length;
        const before = siblings[target] || null;
        if (before !== item.nextSibling) this.list.insertBefore(item, before);
      };
      const onUp = () => {
        window.removeEventListener("pointermove", onMove);
        window.removeEventListener("pointerup", onUp);
        window.removeEventListener("pointercancel", onUp);
        item.classList.remove("dragging");
        const end = position();
        if (end !== start) move(end);
      };
      window.addEventListener("pointermove", onMove);
      window.addEventListener("pointerup", onUp);
      window.addEventListener("pointercancel", onUp);
    });
  }

  add(event) {
    event.preventDefault();
    const value = event.target.querySelector("select").value;
    if (!value) return;
    const args = value.startsWith("circuit:")
      ? { effect: "circuit", params: { netlist: value.slice(8) } }
      : { effect: value };
    this.app.conn.request("add_effect", args).catch((e) => this.app.problem(e));
  }
}
