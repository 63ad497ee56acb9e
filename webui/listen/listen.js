// The listener page: Opus packets over a WebSocket, decoded by WebCodecs and
// played through an AudioWorklet jitter buffer; <audio> with the Ogg stream
// where WebCodecs is missing. Everything it measures is exposed on
// `window.listener` so a test (or a curious user) can read it.

const $ = (id) => document.getElementById(id);
const state = {
  mode: "", playing: false, ctx: null, node: null, decoder: null, socket: null,
  networkMs: 0, bufferMs: 0, outputMs: 0, onsets: [], packets: 0, level: -60, title: "",
};
window.listener = state;

function setState(text) { $("state").textContent = text; }

function opusHead(channels, preSkip) {
  // The OpusHead identification header (RFC 7845), WebCodecs' `description` for Opus.
  const head = new Uint8Array(19);
  head.set([..."OpusHead"].map((ch) => ch.charCodeAt(0)), 0);
  const view = new DataView(head.buffer);
  view.setUint8(8, 1);
  view.setUint8(9, channels);
  view.setUint16(10, preSkip, true);
  view.setUint32(12, 48000, true);
  return head;
}

function showLevel(planes) {
  let sum = 0;
  const x = planes[0];
  for (let i = 0; i < x.length; i++) sum += x[i] * x[i];
  const db = 10 * Math.log10(sum / Math.max(1, x.length) + 1e-12);
  state.level = Math.max(-60, Math.min(0, db));
  $("meter-bar").style.width = `${(state.level + 60) / 60 * 100}%`;
  $("meter").setAttribute("aria-valuenow", state.level.toFixed(0));
}

function showLatency() {
  // A packet is stamped when its frame is complete: its first sample is one
  // frame older than the stamp.
  const total = (state.frameMs || 0) + state.networkMs + state.bufferMs + state.outputMs;
  $("latency").textContent = `${total.toFixed(0)} ms`;
  $("latency").title = `network ${state.networkMs.toFixed(0)} + buffer ${state.bufferMs.toFixed(0)} + output ${state.outputMs.toFixed(0)} ms`;
  state.latencyMs = total;
}

async function startWebCodecs() {
  const ctx = new AudioContext({ sampleRate: 48000, latencyHint: "interactive" });
  state.ctx = ctx;
  await ctx.audioWorklet.addModule("jitter-worklet.js");
  const url = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/api/v1/listen`;
  const socket = new WebSocket(url);
  socket.binaryType = "arraybuffer";
  state.socket = socket;
  let channels = 1;
  socket.onmessage = async (event) => {
    if (typeof event.data === "string") {
      const config = JSON.parse(event.data);
      if (config.type !== "config") return;
      channels = config.channels;
      state.frameMs = config.frame_samples / 48;
      state.title = config.title || "—";
      $("title").textContent = state.title;
      state.node = new AudioWorkletNode(ctx, "jitter-buffer", {
        numberOfOutputs: 1, outputChannelCount: [channels], processorOptions: { channels } });
      state.node.connect(ctx.destination);
      state.node.port.onmessage = onWorkletMessage;
      state.decoder = new AudioDecoder({
        output: (data) => {
          const planes = [];
          for (let c = 0; c < data.numberOfChannels; c++) {
            const plane = new Float32Array(data.numberOfFrames);
            data.copyTo(plane, { planeIndex: c, format: "f32-planar" });
            planes.push(plane);
          }
          data.close();
          showLevel(planes);
          state.node.port.postMessage(planes, planes.map((p) => p.buffer));
        },
        error: (e) => setState(`decoder error: ${e.message}`),
      });
      state.decoder.configure({ codec: "opus", sampleRate: 48000, numberOfChannels: channels,
                                description: opusHead(channels, config.pre_skip) });
      setState("buffering");
      return;
    }
    if (!state.decoder) return;
    const view = new DataView(event.data);
    const pts = Number(view.getBigUint64(0, true));
    const sentMs = view.getFloat64(8, true);
    state.networkMs = 0.9 * state.networkMs + 0.1 * Math.max(0, Date.now() - sentMs);
    state.packets++;
    state.decoder.decode(new EncodedAudioChunk({
      type: "key", timestamp: Math.round(pts / 48), data: new Uint8Array(event.data, 16) }));
  };
  socket.onclose = () => { setState("disconnected — retrying"); setTimeout(() => restart(), 1000); };
  state.outputMs = ((ctx.outputLatency || 0) + (ctx.baseLatency || 0)) * 1000;
}

function onWorkletMessage(event) {
  const message = event.data;
  if (message.type === "buffer") {
    state.bufferMs = message.level / 48;
    $("buffer").textContent = `${state.bufferMs.toFixed(0)} ms (target ${(message.target / 48).toFixed(0)}, underruns ${message.underruns})`;
    if (message.playing && !state.playing) { state.playing = true; setState("playing"); }
    showLatency();
  } else if (message.type === "onset") {
    // Map the worklet's frame to wall-clock time: when it reaches the speaker.
    const ctx = state.ctx;
    const stamp = ctx.getOutputTimestamp();
    const frameTime = message.frame / ctx.sampleRate;
    const wallMs = performance.timeOrigin + stamp.performanceTime + (frameTime - stamp.contextTime) * 1000
      + state.outputMs;
    state.onsets.push({ wallMs, peak: message.peak });
  }
}

function startAudioElement() {
  const audio = $("fallback");
  audio.src = "/stream.ogg?pad=1";  // padded: the element waits for 32 KiB blocks
  audio.hidden = false;
  audio.controls = true;
  audio.onplaying = () => { state.playing = true; setState("playing"); };
  audio.play().catch((e) => setState(`press play (${e.name})`));
  $("latency").textContent = "≈ 0.3–0.6 s (audio element)";
}

async function start() {
  $("play").setAttribute("aria-pressed", "true");
  $("play").textContent = "■ Stop";
  state.mode = "AudioDecoder" in window && "AudioWorkletNode" in window ? "webcodecs" : "audio";
  $("mode").textContent = state.mode === "webcodecs" ? "low latency (WebCodecs)" : "compatible (<audio>)";
  setState("connecting");
  if (state.mode === "webcodecs") await startWebCodecs(); else startAudioElement();
}

function stop() {
  if (state.socket) { state.socket.onclose = null; state.socket.close(); }
  if (state.ctx) state.ctx.close();
  const audio = $("fallback");
  audio.pause();
  Object.assign(state, { socket: null, ctx: null, node: null, decoder: null, playing: false });
  $("play").setAttribute("aria-pressed", "false");
  $("play").textContent = "▶ Listen";
  setState("stopped");
}

async function restart() { stop(); await start(); }

$("play").addEventListener("click", () => (state.socket || state.playing ? stop() : start()));
// The preset changes while people listen, and so does the audience.
async function refreshInfo() {
  try {
    const reply = await fetch("/api/v1/listen/info", { cache: "no-store" });
    const info = reply.ok ? await reply.json() : null;
    if (!info) return;
    if (info.title) $("title").textContent = info.title;
    $("listeners").textContent = info.running ? String(info.listeners) : "–";
  } catch {
    // offline for a moment: the next round tries again
  }
}
refreshInfo();
setInterval(refreshInfo, 3000);
$("share-url").href = location.origin + "/listen/";
$("share-url").textContent = location.origin + "/listen/";
$("ogg-url").href = location.origin + "/stream.ogg";
$("ogg-url").textContent = location.origin + "/stream.ogg";
// Start straight away where the browser allows it (a link opened from a chat).
if (new URLSearchParams(location.search).has("autoplay")) start();
