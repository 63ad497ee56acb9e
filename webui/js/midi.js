// MIDI mappings (CC -> a slot's parameter) as the pedal holds them, and MIDI
// learn: the pedal binds the next control change that arrives to the
// parameter. No event announces the binding, so the page asks for the
// mapping list until the parameter's mapping appears (or gives up).

const LEARN_POLL_MS = 300;
const LEARN_TIMEOUT_MS = 20000;

export class MidiMaps extends EventTarget {
  constructor(conn) {
    super();
    this.conn = conn;
    this.maps = [];
  }

  mappingOf(slot, param) {
    return this.maps.find((m) => m.slot === slot && m.param === param) || null;
  }

  async refresh() {
    const result = await this.conn.request("list_midi_maps");
    this.maps = result.maps || [];
    this.dispatchEvent(new Event("change"));
    return this.maps;
  }

  // Resolves with the new mapping, or null when no CC arrived in time.
  async learn(slot, param) {
    const key = (m) => (m ? `${m.cc}/${m.channel}` : "");
    const before = key(this.mappingOf(slot, param));
    await this.conn.request("midi_learn", { slot, param });
    const deadline = Date.now() + LEARN_TIMEOUT_MS;
    while (Date.now() < deadline) {
      await new Promise((resolve) => { setTimeout(resolve, LEARN_POLL_MS); });
      await this.refresh();
      const now = this.mappingOf(slot, param);
      if (now && key(now) !== before) return now;
    }
    return null;
  }
}
