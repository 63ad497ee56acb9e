// The pedal's phone editor. Everything live goes over the control WebSocket
// (protocol v1): the page shows the controller's state and applies every
// event, whoever caused it (footswitch, MIDI, another phone), so all agree.

import { api, ApiError } from "./js/api.js";
import { Board } from "./js/board.js";
import { Connection } from "./js/connection.js";
import { Library } from "./js/library.js";
import { MidiMaps } from "./js/midi.js";
import { Setup } from "./js/setup.js";
import { Tuner } from "./js/tuner.js";

const $ = (selector) => document.querySelector(selector);

class App {
  constructor() {
    this.conn = new Connection();
    this.state = null;
    this.catalogue = new Map();
    this.circuits = new Map();
    this.midi = new MidiMaps(this.conn);
    this.board = new Board($("#panel-board"), this);
    this.library = new Library($("#panel-presets"), this);
    this.tuner = new Tuner(this);
    this.setup = new Setup($("#panel-setup"), this);
    this.toastTimer = null;
    this.wire();
  }

  wire() {
    const conn = this.conn;
    conn.addEventListener("unauthorized", () => this.showPairing());
    conn.addEventListener("online", () => {
      this.setLink(true);
      // Wide screens show every panel at once: fill the lists now.
      this.library.refresh();
      this.setup.footswitches();
      this.midi.refresh().catch((e) => this.problem(e));
      if (matchMedia("(min-width: 1000px)").matches) this.setup.refresh();
    });
    this.midi.addEventListener("change", () => {
      this.board.showMidi(this.midi);
      this.setup.renderMidiMaps(this.midi.maps);
    });
    conn.addEventListener("offline", () => this.setLink(false));
    conn.addEventListener("state", (e) => this.setState(e.detail.state));
    conn.addEventListener("event", (e) => this.apply(e.detail));
    conn.addEventListener("meters", (e) => this.tuner.meters(e.detail));
    conn.addEventListener("tuner", (e) => this.tuner.reading(e.detail));
    conn.addEventListener("problem", (e) => this.problem(e.detail));
    $("#pair-form").addEventListener("submit", (e) => this.pair(e));
    $("#prev-preset").addEventListener("click", () => this.command("prev_preset"));
    $("#next-preset").addEventListener("click", () => this.command("next_preset"));
    $("#save-current").addEventListener("click", () => this.command("save_current"));
    $("#revert").addEventListener("click", () => this.command("revert"));
    $("#save-snapshot").addEventListener("click", () => this.saveSnapshot());
    for (const tab of document.querySelectorAll(".tabs button")) {
      tab.addEventListener("click", () => this.showPanel(tab.dataset.panel));
    }
    document.addEventListener("problem", (e) => this.problem(e.detail));
  }

  async start() {
    try {
      const session = await api("GET", "/session");
      if (!session.paired) { this.showPairing(); return; }
      await this.loadCatalogue();
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) { this.showPairing(); return; }
      this.problem(error);
    }
    $("#pairing").hidden = true;
    $("#app").hidden = false;
    this.conn.start();
  }

  async loadCatalogue() {
    const [effects, circuits] = await Promise.all([api("GET", "/effects"), api("GET", "/circuits")]);
    this.catalogue = new Map(effects.map((e) => [e.effect, e]));
    this.circuits = new Map(circuits.map((c) => [c.netlist, c]));
  }

  showPairing() {
    this.conn.stop();
    $("#app").hidden = true;
    $("#pairing").hidden = false;
    $("#pair-code").focus();
  }

  async pair(event) {
    event.preventDefault();
    const error = $("#pair-error");
    error.textContent = "";
    try {
      await api("POST", "/pair", { code: $("#pair-code").value.trim() });
    } catch (problem) {
      error.textContent = problem.message;
      return;
    }
    $("#pair-code").value = "";
    this.start();
  }

  setLink(online) {
    const link = $("#link");
    link.textContent = online ? "connected" : "offline — reconnecting…";
    link.classList.toggle("offline", !online);
    document.body.classList.toggle("is-offline", !online);
    if (!online) this.tuner.clearMeters();
  }

  command(cmd, args = {}) {
    return this.conn.request(cmd, args).catch((e) => this.problem(e));
  }

  problem(error) {
    const toast = $("#toast");
    toast.textContent = error && error.message ? error.message : String(error);
    toast.hidden = false;
    clearTimeout(this.toastTimer);
    this.toastTimer = setTimeout(() => { toast.hidden = true; }, 5000);
  }

  showPanel(id) {
    for (const tab of document.querySelectorAll(".tabs button")) {
      if (tab.dataset.panel === id) tab.setAttribute("aria-current", "page");
      else tab.removeAttribute("aria-current");
    }
    document.body.dataset.panel = id;
    if (id === "panel-setup") this.setup.refresh();
    if (id === "panel-presets") this.library.refresh();
  }

  // ------------------------------------------------------------ state
  setState(state) {
    this.state = state;
    this.board.render(state);
    this.renderHeader();
    this.renderSnapshots();
    this.library.renderBank(state);
    this.tuner.setOn(state.tuner);
    this.setup.setTempo(state.tempo_bpm);
    this.setup.switches.stateChanged();
    document.body.dataset.revision = String(state.revision);
  }

  apply(message) {
    const { event, data } = message;
    const state = this.state;
    if (!state) return;
    state.revision = message.revision;
    document.body.dataset.revision = String(message.revision);
    switch (event) {
      case "preset_selected":
      case "chain_changed":
        this.setState(data.state || data);
        return;
      case "snapshot_selected":
        this.setState(data.state || data);
        return;
      case "param_changed": {
        const slot = findSlot(state.chain, data.slot);
        if (slot) slot.params[data.param] = data.value;
        state.dirty = true;
        this.board.setParam(data.slot, data.param, data.value);
        break;
      }
      case "bypass_changed": {
        const slot = findSlot(state.chain, data.slot);
        if (slot) slot.bypass = data.value;
        state.dirty = true;
        this.board.showBypass(data.slot, data.value);
        break;
      }
      case "tempo_changed":
        state.tempo_bpm = data.bpm;
        this.setup.setTempo(data.bpm);
        break;
      case "footswitches_changed":
        this.setup.switches.show(data.footswitches);
        break;
      case "tuner_changed":
        state.tuner = data.on;
        this.tuner.setOn(data.on);
        break;
      case "library_changed":
        // A bank's or setlist's order may have changed under the board.
        this.library.refresh();
        this.conn.request("get_state").then((fresh) => this.setState(fresh)).catch(() => {});
        break;
      case "engine":
        this.problem(new Error(`Audio: ${data.status.replace("_", " ")}${data.message ? ` — ${data.message}` : ""}`));
        break;
      default:
        break;
    }
    this.renderHeader();
  }

  renderHeader() {
    const state = this.state;
    $("#preset-name").textContent = state.preset_name || "—";
    $("#dirty").hidden = !state.dirty;
    $("#edit-actions").hidden = !state.dirty;
    document.title = `${state.preset_name || "Pedal"} — Pedal`;
  }

  renderSnapshots() {
    const state = this.state;
    const box = $("#snapshot-buttons");
    box.replaceChildren(...state.snapshots.map((name, index) => {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "snapshot";
      button.textContent = name;
      button.setAttribute("aria-pressed", String(state.snapshot === index));
      button.setAttribute("aria-label", `Snapshot ${index + 1}: ${name}`);
      button.addEventListener("click", () => this.command("select_snapshot", { index }));
      return button;
    }));
  }

  saveSnapshot() {
    const state = this.state;
    const index = state.snapshot ?? Math.min(state.snapshots.length, 7);
    const name = prompt(`Name for snapshot ${index + 1}`, state.snapshots[index] || `Snap ${index + 1}`);
    if (name) this.command("save_snapshot", { index, name: name.slice(0, 64) });
  }
}

function findSlot(nodes, id) {
  for (const node of nodes) {
    if (node.id === id) return node;
    if (node.parallel) {
      for (const branch of node.parallel) {
        const found = findSlot(branch, id);
        if (found) return found;
      }
    }
  }
  return null;
}

const app = new App();
window.pedal = app;  // for the console and for tests
document.body.dataset.panel = "panel-board";
app.start();
