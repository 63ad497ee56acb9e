// Banks and setlists: both are ordered lists of presets. A bank is how the
// presets are laid out on the pedal (the footswitches step through it), a
// setlist is the running order of one gig. Either can be made the active
// list; the board's preset arrows and the footswitches then follow it.

const KINDS = {
  bank: { label: "Bank", save: "save_bank", remove: "delete_bank" },
  setlist: { label: "Setlist", save: "save_setlist", remove: "delete_setlist" },
};

// The pedal's id for a name (pedalboard.presets.slugify): "Friday Gig" -> "friday-gig".
export function slugify(name, fallback = "list") {
  const slug = name.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 32)
    .replace(/-+$/, "");
  return slug || fallback;
}

function button(text, label, onClick, className = "") {
  const element = document.createElement("button");
  element.type = "button";
  element.textContent = text;
  if (label) element.setAttribute("aria-label", label);
  if (className) element.className = className;
  element.addEventListener("click", onClick);
  return element;
}

export class Lists {
  // app: {command(cmd, args) -> promise, problem(err), state}
  constructor(root, app) {
    this.root = root;
    this.app = app;
    this.banks = [];
    this.setlists = [];
    this.presets = [];          // [{id, name}] of the whole library
    this.editing = null;        // {kind, id|null, name, presets: [ids]}
    this.list = root.querySelector("#lists");
    this.form = root.querySelector("#list-editor");
    this.form.addEventListener("submit", (e) => this.save(e));
    this.form.querySelector("#list-cancel").addEventListener("click", () => this.close());
    this.form.querySelector("#list-add").addEventListener("click", () => this.addPreset());
    root.querySelector("#new-list").addEventListener("click", () => this.open("bank", null));
  }

  set(banks, setlists, presets) {
    this.banks = banks;
    this.setlists = setlists;
    this.presets = presets;
    this.render();
    if (this.editing) this.renderEditor();
  }

  nameOf(presetId) {
    const preset = this.presets.find((p) => p.id === presetId);
    return preset ? preset.name : presetId;
  }

  render() {
    const active = this.app.state ? this.app.state.bank : null;
    const entries = [...this.banks.map((b) => ["bank", b]), ...this.setlists.map((s) => ["setlist", s])];
    if (!entries.length) {
      const empty = document.createElement("li");
      empty.textContent = "No banks or setlists yet.";
      this.list.replaceChildren(empty);
      return;
    }
    this.list.replaceChildren(...entries.map(([kind, entry]) => {
      const item = document.createElement("li");
      item.dataset.list = entry.id;
      item.dataset.kind = kind;
      const text = document.createElement("span");
      const count = entry.presets.length;
      text.textContent = `${KINDS[kind].label}: ${entry.name} (${count} preset${count === 1 ? "" : "s"})`;
      const use = button(entry.id === active ? "In use" : "Use", `Use ${kind} ${entry.name}`,
        () => this.app.command("select_bank", { bank: entry.id }));
      use.setAttribute("aria-pressed", String(entry.id === active));
      use.className = "use";
      const edit = button("Edit", `Edit ${kind} ${entry.name}`, () => this.open(kind, entry));
      const remove = button("Delete", `Delete ${kind} ${entry.name}`, () => {
        if (confirm(`Delete ${kind} ${entry.name}? Its presets stay in the library.`)) {
          this.app.command(KINDS[kind].remove, { id: entry.id });
        }
      });
      item.append(text, use, edit, remove);
      return item;
    }));
  }

  // ------------------------------------------------------------ editor
  open(kind, entry) {
    this.editing = entry
      ? { kind, id: entry.id, name: entry.name, presets: [...entry.presets] }
      : { kind, id: null, name: "", presets: [] };
    this.form.hidden = false;
    this.form.querySelector("#list-kind").value = kind;
    this.form.querySelector("#list-kind").disabled = Boolean(entry);
    this.form.querySelector("#list-name").value = this.editing.name;
    this.form.querySelector("#list-editor-title").textContent = entry ? `Edit ${entry.name}` : "New bank or setlist";
    this.renderEditor();
    this.form.querySelector("#list-name").focus();
  }

  close() {
    this.editing = null;
    this.form.hidden = true;
  }

  renderEditor() {
    const editing = this.editing;
    const picker = this.form.querySelector("#list-pick");
    picker.replaceChildren(...this.presets.map((p) => new Option(p.name, p.id)));
    const order = this.form.querySelector("#list-presets");
    const count = editing.presets.length;
    order.replaceChildren(...editing.presets.map((presetId, index) => {
      const item = document.createElement("li");
      item.dataset.preset = presetId;
      const name = document.createElement("span");
      const label = this.nameOf(presetId);
      name.textContent = `${index + 1}. ${label}`;
      const up = button("▲", `Move ${label} up`, () => this.move(index, -1), "small");
      up.disabled = index === 0;
      const down = button("▼", `Move ${label} down`, () => this.move(index, 1), "small");
      down.disabled = index === count - 1;
      const remove = button("✕", `Take ${label} out of the list`, () => {
        editing.presets.splice(index, 1);
        this.renderEditor();
      }, "small");
      item.append(name, up, down, remove);
      return item;
    }));
  }

  addPreset() {
    const presetId = this.form.querySelector("#list-pick").value;
    if (!presetId) return;
    if (this.editing.presets.length >= 128) {
      this.app.problem(new Error("A list holds at most 128 presets"));
      return;
    }
    this.editing.presets.push(presetId);
    this.renderEditor();
  }

  move(index, delta) {
    const presets = this.editing.presets;
    const [moved] = presets.splice(index, 1);
    presets.splice(index + delta, 0, moved);
    this.renderEditor();
  }

  // A new list never takes over an existing one that happens to share its
  // name: banks and setlists share one id space (select_bank takes either).
  freshId(base) {
    const taken = new Set([...this.banks, ...this.setlists].map((entry) => entry.id));
    if (!taken.has(base)) return base;
    let n = 2;
    while (taken.has(`${base.slice(0, 28)}-${n}`)) n += 1;
    return `${base.slice(0, 28)}-${n}`;
  }

  async save(event) {
    event.preventDefault();
    const editing = this.editing;
    const name = this.form.querySelector("#list-name").value.trim().slice(0, 64);
    const kind = editing.id ? editing.kind : this.form.querySelector("#list-kind").value;
    if (!name) { this.app.problem(new Error("The list needs a name")); return; }
    const entry = { id: editing.id || this.freshId(slugify(name)), name, presets: editing.presets };
    try {
      await this.app.conn.request(KINDS[kind].save, { [kind]: entry });
      this.close();
    } catch (error) {
      this.app.problem(error);
    }
  }
}
