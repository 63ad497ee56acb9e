// Presets, banks and setlists: switch presets, pick the active bank or
// setlist, save as, import and export.

import { api, download } from "./api.js";
import { Lists, slugify } from "./lists.js";

export class Library {
  constructor(root, app) {
    this.root = root;
    this.app = app;
    this.lists = new Lists(root, app);
    this.bankSelect = root.querySelector("#bank-select");
    this.bankSelect.addEventListener("change", () => {
      if (this.bankSelect.value) app.command("select_bank", { bank: this.bankSelect.value });
    });
    root.querySelector("#save-as").addEventListener("submit", (e) => this.saveAs(e));
    root.querySelector("#export-preset").addEventListener("click", () => this.exportPreset());
    root.querySelector("#export-library").addEventListener("click", () => this.exportLibrary());
    root.querySelector("#import-file").addEventListener("change", (e) => this.importFile(e));
  }

  // The presets of the current bank, in footswitch order.
  renderBank(state) {
    const list = this.root.querySelector("#preset-list");
    list.replaceChildren(...state.presets.map((preset, index) => {
      const item = document.createElement("li");
      const button = document.createElement("button");
      button.type = "button";
      button.className = "preset";
      button.textContent = `${index + 1}. ${preset.name}`;
      button.setAttribute("aria-current", String(preset.id === state.preset));
      button.addEventListener("click", () => this.app.command("select_preset", { preset: preset.id }));
      item.append(button);
      return item;
    }));
    if (this.bankSelect.options.length) this.bankSelect.value = state.bank || "";
    this.lists.render();
  }

  async refresh() {
    try {
      const [banks, setlists, presets] = await Promise.all([
        this.app.conn.request("list_banks"), this.app.conn.request("list_setlists"),
        this.app.conn.request("list_presets")]);
      this.renderBanks(banks.banks || [], setlists.setlists || []);
      this.renderLibrary(presets.presets || []);
      this.lists.set(banks.banks || [], setlists.setlists || [], presets.presets || []);
    } catch (error) {
      this.app.problem(error);
    }
  }

  // The active list: a bank or a setlist ("All presets" until one is chosen).
  renderBanks(banks, setlists) {
    const current = this.app.state ? this.app.state.bank : null;
    const all = new Option("All presets (no bank chosen)", "");
    all.disabled = true;
    const group = (label, entries) => {
      const element = document.createElement("optgroup");
      element.label = label;
      element.append(...entries.map((entry) => new Option(entry.name, entry.id)));
      return element;
    };
    const groups = [];
    if (banks.length) groups.push(group("Banks", banks));
    if (setlists.length) groups.push(group("Setlists", setlists));
    this.bankSelect.replaceChildren(all, ...groups);
    this.bankSelect.value = current || "";
  }

  renderLibrary(presets) {
    const list = this.root.querySelector("#library-list");
    list.replaceChildren(...presets.map((preset) => {
      const item = document.createElement("li");
      const name = document.createElement("span");
      name.textContent = preset.name;
      const load = document.createElement("button");
      load.type = "button";
      load.textContent = "Load";
      load.setAttribute("aria-label", `Load ${preset.name}`);
      load.addEventListener("click", () => this.app.command("select_preset", { preset: preset.id }));
      const rename = document.createElement("button");
      rename.type = "button";
      rename.textContent = "Rename";
      rename.setAttribute("aria-label", `Rename ${preset.name}`);
      rename.addEventListener("click", () => this.rename(preset));
      const remove = document.createElement("button");
      remove.type = "button";
      remove.textContent = "Delete";
      remove.setAttribute("aria-label", `Delete ${preset.name}`);
      remove.addEventListener("click", () => {
        if (confirm(`Delete preset ${preset.name}?`)) this.app.command("delete_preset", { id: preset.id });
      });
      item.dataset.preset = preset.id;
      item.append(name, load, rename, remove);
      return item;
    }));
  }

  // A new name, same id (footswitch layouts and setlists keep pointing at it).
  async rename(preset) {
    const name = (prompt(`New name for ${preset.name}`, preset.name) || "").trim().slice(0, 64);
    if (!name || name === preset.name) return;
    const state = this.app.state;
    if (state && state.preset === preset.id && state.dirty
        && !confirm(`${preset.name} has unsaved edits; renaming reloads the stored preset and drops them. Rename?`)) {
      return;
    }
    try {
      const stored = await this.app.conn.request("get_preset", { id: preset.id });
      await this.app.conn.request("save_preset", { preset: { ...stored.preset, name } });
    } catch (error) {
      this.app.problem(error);
    }
  }

  async saveAs(event) {
    event.preventDefault();
    const input = this.root.querySelector("#save-as-name");
    const state = this.app.state;
    const name = input.value.trim().slice(0, 64);
    const preset = {
      id: slugify(name, "preset"),
      name,
      chain: state.chain.map(stripNode),
      tempo_bpm: state.tempo_bpm,
    };
    try {
      // The id comes from the name: saving under a taken one replaces that preset.
      const existing = (await this.app.conn.request("list_presets")).presets || [];
      const taken = existing.find((p) => p.id === preset.id);
      if (taken && !confirm(`Replace the preset ${taken.name} with the board?`)) return;
      const result = await this.app.conn.request("save_preset", { preset });
      input.value = "";
      await this.app.conn.request("select_preset", { preset: result.id });
    } catch (error) {
      this.app.problem(error);
    }
  }

  async exportPreset() {
    try {
      const preset = await api("GET", `/presets/${encodeURIComponent(this.app.state.preset)}`);
      download(`${this.app.state.preset}.json`, preset);
    } catch (error) {
      this.app.problem(error);
    }
  }

  async exportLibrary() {
    try {
      download("pedal-library.json", await api("GET", "/library"));
    } catch (error) {
      this.app.problem(error);
    }
  }

  async importFile(event) {
    const file = event.target.files[0];
    event.target.value = "";
    if (!file) return;
    try {
      const data = JSON.parse(await file.text());
      if (data && Array.isArray(data.presets)) {
        await api("POST", "/library", { library: data, replace: false });
      } else {
        await api("POST", "/presets", data);
      }
      this.refresh();
    } catch (error) {
      this.app.problem(error instanceof SyntaxError ? new Error(`${file.name}: not JSON`) : error);
    }
  }
}

// A live chain node back to preset JSON (what save_preset takes).
function stripNode(node) {
  if (node.parallel) {
    return { id: node.id, parallel: node.parallel.map((b) => b.map(stripNode)), mix: node.mix, bypass: node.bypass };
  }
  return { id: node.id, effect: node.effect, params: { ...node.params }, bypass: node.bypass };
}
