// The control WebSocket (protocol v1): connect, reconnect, commands with ids.
//
// Events dispatched on the Connection:
//   "online" / "offline"         the socket came up (state follows) / went away
//   "unauthorized"               closed with 4401: the page must pair first
//   "state"   detail: message    a full state (on connect, after reconnects)
//   "event"   detail: message    a change made by anybody (footswitch, MIDI, phone)
//   "meters"  detail: data       input/output peaks and DSP load (~10/s)
//   "tuner"   detail: data|null  the tuner's reading (~20/s while it is on)

const CLOSE_UNAUTHORIZED = 4401;
const REQUEST_TIMEOUT_MS = 8000;

export class Connection extends EventTarget {
  constructor(path = "/api/v1/ws") {
    super();
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    this.url = `${scheme}//${location.host}${path}`;
    this.socket = null;
    this.pending = new Map();
    this.nextId = 1;
    this.retryMs = 250;
    this.stopped = true;
    this.online = false;
    this.subscription = { meters: true, tuner: true };
  }

  start() {
    this.stopped = false;
    this.open();
  }

  stop() {
    this.stopped = true;
    if (this.socket) this.socket.close(1000, "bye");
  }

  open() {
    const socket = new WebSocket(this.url);
    this.socket = socket;
    socket.addEventListener("message", (e) => this.receive(e.data));
    socket.addEventListener("close", (e) => this.closed(socket, e.code));
  }

  closed(socket, code) {
    if (socket !== this.socket) return;
    this.socket = null;
    this.online = false;
    for (const { reject, timer } of this.pending.values()) {
      clearTimeout(timer);
      reject(new Error("connection lost"));
    }
    this.pending.clear();
    if (code === CLOSE_UNAUTHORIZED) {
      this.stopped = true;
      this.dispatchEvent(new Event("unauthorized"));
      return;
    }
    this.dispatchEvent(new Event("offline"));
    if (this.stopped) return;
    setTimeout(() => { if (!this.stopped) this.open(); }, this.retryMs);
    this.retryMs = Math.min(2000, this.retryMs * 2);
  }

  receive(text) {
    let message;
    try { message = JSON.parse(text); } catch { return; }
    switch (message.type) {
      case "state":
        if (message.id && this.pending.has(message.id)) { this.settle(message); break; }
        if (!this.online) {
          this.online = true;
          this.retryMs = 250;
          this.dispatchEvent(new Event("online"));
          this.request("subscribe", this.subscription).catch(() => {});
        }
        this.emit("state", message);
        break;
      case "ack":
      case "error":
        if (message.id && this.pending.has(message.id)) this.settle(message);
        else if (message.type === "error") this.emit("problem", message);
        break;
      case "event": this.emit("event", message); break;
      case "meters": this.emit("meters", message.data); break;
      case "tuner": this.emit("tuner", message.data); break;
      default: break;
    }
  }

  settle(message) {
    const entry = this.pending.get(message.id);
    this.pending.delete(message.id);
    clearTimeout(entry.timer);
    if (message.type === "error") {
      const error = new Error(message.message);
      error.code = message.code;
      entry.reject(error);
    } else {
      entry.resolve(message.type === "state" ? message.state : message.result);
    }
  }

  emit(name, detail) {
    this.dispatchEvent(new CustomEvent(name, { detail }));
  }

  // Send a command; resolves with its result, rejects with the error message.
  request(cmd, args = {}) {
    if (!this.socket || this.socket.readyState !== WebSocket.OPEN) {
      return Promise.reject(new Error("offline: the pedal is not connected"));
    }
    const id = `c${this.nextId++}`;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`no answer to ${cmd}`));
      }, REQUEST_TIMEOUT_MS);
      this.pending.set(id, { resolve, reject, timer });
      this.socket.send(JSON.stringify({ v: 1, id, cmd, args }));
    });
  }
}
