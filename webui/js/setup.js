// Setup: tempo and tap, the footswitch mapping (chosen here, with buttons
// that press them), MIDI mappings, paired devices.

import { api } from "./api.js";
import { FootswitchEditor } from "./footswitches.js";

export class Setup {
  constructor(root, app) {
    this.root = root;
    this.app = app;
    this.tempo = root.querySelector("#tempo");
    this.switches = new FootswitchEditor(root.querySelector("#footswitches"), app);
    root.querySelector("#tempo-form").addEventListener("submit", (e) => {
      e.preventDefault();
      const bpm = Number(this.tempo.value);
      if (bpm >= 20 && bpm <= 300) app.command("set_tempo", { bpm });
      else app.problem(new Error("Tempo: 20 to 300 BPM"));
    });
    root.querySelector("#tap").addEventListener("click", () => app.command("tap"));
    root.querySelector("#show-pair-code").addEventListener("click", () => this.showPairCode());
    root.querySelector("#logout").addEventListener("click", () => this.logout());
  }

  setTempo(bpm) {
    if (document.activeElement !== this.tempo && bpm) this.tempo.value = Number(bpm).toFixed(1);
  }

  refresh() {
    this.footswitches();
    this.midiMaps();
    this.devices();
  }

  async footswitches() {
    try {
      const result = await api("GET", "/footswitches");
      this.switches.show(result && result.footswitches);
    } catch (error) {
      this.app.problem(error);
    }
  }

  async midiMaps() {
    try {
      await this.app.midi.refresh();  // renders through the "change" event
    } catch (error) {
      this.app.problem(error);
    }
  }

  renderMidiMaps(maps) {
    const list = this.root.querySelector("#midi-maps");
    if (!maps.length) {
      const empty = document.createElement("li");
      empty.textContent = "No mappings. Press MIDI next to a control, then move a knob on your controller.";
      list.replaceChildren(empty);
      return;
    }
    list.replaceChildren(...maps.map((map) => {
      const item = document.createElement("li");
      item.dataset.cc = String(map.cc);
      const text = document.createElement("span");
      text.textContent = `CC ${map.cc}${map.channel ? ` (ch ${map.channel})` : ""} → ${map.slot}.${map.param}`;
      const remove = document.createElement("button");
      remove.type = "button";
      remove.textContent = "Unmap";
      remove.setAttribute("aria-label", `Remove the mapping of CC ${map.cc}`);
      const args = map.channel ? { cc: map.cc, channel: map.channel } : { cc: map.cc };
      remove.addEventListener("click", () => this.app.command("midi_unmap", args).then(() => this.midiMaps()));
      item.append(text, remove);
      return item;
    }));
  }

  async devices() {
    const list = this.root.querySelector("#devices");
    try {
      const tokens = await api("GET", "/tokens");
      list.replaceChildren(...tokens.map((token) => {
        const item = document.createElement("li");
        item.dataset.token = token.id;
        const text = document.createElement("span");
        const when = new Date(token.last_used * 1000).toLocaleString();
        const name = `${shortAgent(token.label)} ${token.id.slice(0, 6)}`;
        text.textContent = `${name}${token.current ? " (this device)" : ""} — last used ${when}`;
        item.append(text);
        if (!token.current) {  // this device leaves with "Forget this device"
          const revoke = document.createElement("button");
          revoke.type = "button";
          revoke.textContent = "Revoke";
          revoke.setAttribute("aria-label", `Revoke ${name}`);
          revoke.addEventListener("click", () => api("DELETE", `/tokens/${token.id}`)
            .then(() => this.devices()).catch((e) => this.app.problem(e)));
          item.append(revoke);
        }
        return item;
      }));
    } catch (error) {
      this.app.problem(error);
    }
  }

  async showPairCode() {
    try {
      const result = await api("GET", "/pair-code");
      this.root.querySelector("#pair-code-show").textContent = result.code;
    } catch (error) {
      this.app.problem(error);
    }
  }

  async logout() {
    try { await api("POST", "/logout"); } catch { /* the cookie is cleared either way */ }
    location.reload();
  }
}

function shortAgent(agent) {
  // The device first (a phone's browser also says "Linux" or "Mac OS X").
  const match = /(iPhone|iPad|Android)/.exec(agent || "")
    || /(Windows|Macintosh|CrOS|Linux|HeadlessChrome|Chrome|Firefox|Safari)/.exec(agent || "");
  return match ? match[1] : (agent || "device").slice(0, 30);
}
