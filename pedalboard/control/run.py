"""``pedal run``: start the pedal (engine, controller, socket, footswitches, MIDI, web).

    pedal run --audio auto --data-dir ~/pedal

``--audio auto`` takes JACK when a JACK server is running, else ALSA when
the machine has a sound card, else the virtual backend with the demo guitar
as input, and says which and why. The controller restores the last state
from ``<data-dir>/pedal.db``; the control socket is ``<data-dir>/control.sock``.
Unless ``--no-server``, the web control service (``python -m
pedalboard.server``) runs as a child process. SIGINT or SIGTERM stop
everything cleanly (the store commits what is pending first).
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Annotated, Any

import typer

from pedalboard.control import DATA_DIR_ENV, resolve_data_dir
from pedalboard.errors import PedalError

log = logging.getLogger("pedalboard.run")
AUDIO_CHOICES = ("auto", "jack", "alsa", "virtual")


def choose_backend(audio: str, jack_server: str | None) -> tuple[str, str]:
    """The backend for ``--audio`` and why it was chosen."""
    if audio != "auto":
        return audio, "as asked"
    if jack_running(jack_server):
        return "jack", f"a JACK server{f' {jack_server!r}' if jack_server else ''} is running"
    if sound_card_present():
        return "alsa", "no JACK server; a sound card is present"
    return "virtual", "no JACK server and no sound card: demo input"


def jack_running(server: str | None) -> bool:
    try:
        import jack

        client = jack.Client("pedal-probe", no_start_server=True, servername=server)
    except Exception:  # jack.JackOpenError, or libjack missing
        return False
    client.close()
    return True


def sound_card_present() -> bool:
    try:
        cards = Path("/proc/asound/cards").read_text()
    except OSError:
        return False
    return bool(cards.strip()) and "no soundcards" not in cards


def start_web_service(data_dir: Path, host: str, port: int, extra_args: list[str] | None = None,
                      scheme: str = "http") -> subprocess.Popen[bytes] | None:
    if importlib.util.find_spec("pedalboard.server") is None:
        typer.echo("web control service: not available (pedalboard.server is not installed)")
        return None
    command = [sys.executable, "-m", "pedalboard.server", "--data-dir", str(data_dir),
               "--host", host, "--port", str(port), "--log-level", "warning", *(extra_args or [])]
    typer.echo(f"web control service: {scheme}://{host}:{port}/")
    return subprocess.Popen(command)


def stream_arguments(*, no_stream: bool, bitrate: int, icecast: str | None, rtp: str | None,
                     sdp: Path | None, record: Path | None, listen_token: bool) -> list[str]:
    """The web service's streaming flags, checked here so a typo fails at once."""
    if no_stream:
        return ["--no-stream"]
    from pedalboard.stream.service import StreamOptions

    StreamOptions(bitrate=bitrate, icecast=icecast, rtp=rtp, sdp=sdp, record=record).check()
    args = ["--bitrate", str(bitrate)]
    for flag, value in (("--icecast", icecast), ("--rtp", rtp), ("--sdp", sdp), ("--record", record)):
        if value is not None:
            args += [flag, str(Path(value).resolve()) if isinstance(value, Path) else value]
    return args + (["--listen-token"] if listen_token else [])


class Pedal:
    """Everything `pedal run` starts, in order, and stops in reverse."""

    def __init__(self) -> None:
        self.parts: list[tuple[str, Any]] = []

    def add(self, name: str, stop: Any) -> None:
        self.parts.append((name, stop))

    def stop(self) -> None:
        for name, stop in reversed(self.parts):
            try:
                stop()
            except Exception:
                log.exception("stopping %s failed", name)
        self.parts.clear()


def start_pedal(*, audio: str = "auto", jack_server: str | None = None, preset: str | None = None,
                block_size: int = 64, data_dir: Path | None = None, config: Path | None = None,
                server: bool = True, host: str | None = None, port: int | None = None,
                keyboard: bool | None = None, echo: Any = typer.echo,
                server_args: list[str] | None = None) -> tuple[Pedal, Any]:
    """Start all parts; returns (pedal, controller). Raises PedalError."""
    from pedalboard.control.controller import Controller
    from pedalboard.control.server import ControlServer, socket_path
    from pedalboard.control.store import Store
    from pedalboard.device.config import load_config, load_or_write_default

    data_dir = resolve_data_dir(data_dir)
    device = load_config(config) if config else load_or_write_default(data_dir / "pedal.toml")
    host = host or device.server.host or "127.0.0.1"
    port = port or device.server.port or 8000
    server_args = [*(server_args or []), *(_server_arguments(device, server_args or []) if server else [])]
    scheme = "https" if "--tls-cert" in server_args else "http"
    backend, why = choose_backend(audio, jack_server)
    if jack_server:  # rtmidi's JACK API (MIDI api = "jack") finds its server only this way
        os.environ["JACK_DEFAULT_SERVER"] = jack_server
    pedal = Pedal()
    try:
        store = Store(data_dir)
        pedal.add("store", store.close)
        from pedalboard.engine import Engine

        holder: dict[str, Any] = {}
        engine = Engine(backend, block_size=block_size, jack_server=jack_server,
                        on_event=lambda name, data: _engine_event(holder, echo, name, data))
        controller = Controller(store, engine, actions=device.action_map(),
                                hardware=device.hardware_map())
        holder["controller"] = controller
        controller.start()
        if preset is not None:
            _select_start_preset(controller, preset)
        # The socket first: the controller owns the state and takes commands
        # (they queue for the engine) while the engine loads its kernels.
        control = ControlServer(controller, socket_path(data_dir))
        control.start()
        pedal.add("control socket", control.stop)
        # MIDI before the engine, and stopped after it: rtmidi's JACK calls
        # (port register, connect, close) hold the GIL while they wait for the
        # JACK server, and the server may be waiting for the engine's client,
        # whose callbacks need the GIL: a deadlock at start or at Ctrl-C.
        _start_devices(pedal, controller, device, keyboard, echo)
        engine.start()
        pedal.add("engine", engine.stop)
        status = engine.status()
        echo(f"audio: {backend} ({why}), {status['sample_rate']} Hz, {status['block_size']} frames")
        echo(f"data dir: {data_dir}; control socket: {control.path}")
        echo(f"preset: {controller.preset_id} ({controller.live.name}); pair code: {controller.pair_code}")
        if device.footswitch:
            switches = ", ".join(fs.name + (f" (key {fs.key})" if fs.key else "") for fs in device.footswitch)
            echo(f"footswitches: {switches}; mapping in {config or data_dir / 'pedal.toml'}")
        if server:
            child = start_web_service(data_dir, host, port, server_args, scheme)
            if child is not None:
                pedal.add("web service", lambda: _stop_child(child))
                _print_pairing(host, port, controller.pair_code, scheme)
                if "--no-stream" not in server_args:
                    base = f"{scheme}://{host}:{port}"
                    echo(f"listeners: {base}/listen/ (players: {base}/stream.ogg)")
    except BaseException:
        pedal.stop()
        raise
    return pedal, controller


def _engine_event(holder: dict[str, Any], echo: Any, name: str, data: dict[str, Any]) -> None:
    """Tell the controller (every client hears it) and the terminal: a
    guitarist looking at the console must see that the audio went away."""
    message = str(data.get("message", "")) if isinstance(data, dict) else ""
    echo(f"audio {name.removeprefix('audio_')}: {message}" if message else f"audio {name}")
    controller = holder.get("controller")
    if controller is not None:
        controller.engine_event(name, data)


def _select_start_preset(controller: Any, preset: str) -> None:
    if preset.endswith(".json") or os.sep in preset:
        from pedalboard.presets import read_preset_file

        loaded = read_preset_file(preset)
        reply = controller.handle({"v": 1, "id": "start", "cmd": "save_preset",
                                   "args": {"preset": loaded.model_dump(exclude_none=True)}}, "ctl")
        if reply["type"] == "error":
            raise PedalError(f"--preset {preset}: {reply['message']}")
        preset = loaded.id or ""
    match = [pid for pid, p in controller.library.presets.items() if preset in (pid, p.name)]
    reply = controller.call("select_preset", "ctl", preset=match[0] if match else preset)
    if reply["type"] == "error":
        raise PedalError(f"--preset: {reply['message']}")


def _start_devices(pedal: Pedal, controller: Any, device: Any, keyboard: bool | None, echo: Any) -> None:
    from pedalboard.device.footswitch import start_footswitches
    from pedalboard.device.midi import start_midi

    if keyboard is None:
        keyboard = sys.stdin.isatty()
    switches = start_footswitches(controller, device, keyboard=keyboard, echo=echo)
    pedal.add("footswitches", switches.close)
    midi = start_midi(controller, device.midi, echo=echo)
    if midi is not None:
        pedal.add("midi", midi.close)


def _server_arguments(device: Any, given: list[str]) -> list[str]:
    """The web service's flags from ``[server]`` in pedal.toml, for those the
    command line did not give; TLS files are checked here so a typo stops the
    start with one line instead of a pedal without its editor."""
    args: list[str] = []
    cfg = device.server
    if "--tls-cert" not in given and (cfg.tls_cert or cfg.tls_key):
        check_tls(cfg.tls_cert, cfg.tls_key)
        args += ["--tls-cert", str(cfg.tls_cert), "--tls-key", str(cfg.tls_key)]
    if "--cors-origin" not in given:
        for origin in cfg.cors_origins:
            args += ["--cors-origin", origin]
    if cfg.listen_token and "--listen-token" not in given and "--no-stream" not in given:
        args.append("--listen-token")
    return args


def check_tls(cert: Path | None, key: Path | None) -> None:
    """Both or neither, and both readable files."""
    if (cert is None) != (key is None):
        raise PedalError("--tls-cert and --tls-key (tls_cert and tls_key in pedal.toml) go together")
    for name, path in (("tls-cert", cert), ("tls-key", key)):
        if path is not None and not path.is_file():
            raise PedalError(f"--{name} {path}: no such file")


def _print_pairing(host: str, port: int, code: str, scheme: str = "http") -> None:
    """The editor's URL as a QR code a phone can scan, and the pairing code."""
    from pedalboard.server import print_pairing

    if host in ("0.0.0.0", "::", ""):  # listening everywhere: show the LAN address
        host = _lan_address()
    print_pairing(f"{scheme}://{host}:{port}/", code)


def _lan_address() -> str:
    """This machine's address on the network (no packet is sent: a UDP
    socket's connect only picks the outgoing interface)."""
    import socket

    with contextlib.suppress(OSError), socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect(("192.0.2.1", 9))
        return str(probe.getsockname()[0])
    return "127.0.0.1"


def _stop_child(child: subprocess.Popen[bytes]) -> None:
    child.terminate()
    try:
        child.wait(timeout=5.0)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()


def run(
    audio: Annotated[str, typer.Option(help="jack, alsa, virtual, or auto")] = "auto",
    jack_server: Annotated[str | None, typer.Option(help="JACK server name (jackd -n)")] = None,
    preset: Annotated[str | None, typer.Option(help="Start on this preset (id, name or .json file)")] = None,
    block_size: Annotated[int, typer.Option(help="Frames per audio block")] = 64,
    data_dir: Annotated[Path | None, typer.Option(envvar=DATA_DIR_ENV, show_default=False,
                                                  help="Where the store and socket live")] = None,
    config: Annotated[Path | None, typer.Option(
        help="Device config (TOML); default <data-dir>/pedal.toml")] = None,
    no_server: Annotated[bool, typer.Option("--no-server", help="Do not start the web service")] = False,
    host: Annotated[str | None, typer.Option(
        help="Web service address (0.0.0.0: phones on the LAN); default [server] host in pedal.toml, "
        "else 127.0.0.1", show_default=False)] = None,
    port: Annotated[int | None, typer.Option(
        help="Web service port; default [server] port in pedal.toml, else 8000", show_default=False)] = None,
    tls_cert: Annotated[Path | None, typer.Option(help="PEM certificate: serve HTTPS")] = None,
    tls_key: Annotated[Path | None, typer.Option(help="PEM private key for --tls-cert")] = None,
    cors_origin: Annotated[list[str] | None, typer.Option(
        help="Allow this web origin to call the API (repeatable); closed by default")] = None,
    no_stream: Annotated[bool, typer.Option("--no-stream", help="Do not stream the output to listeners",
                                            rich_help_panel="Live stream")] = False,
    bitrate: Annotated[int, typer.Option(help="Opus bit rate, b/s", rich_help_panel="Live stream")] = 128000,
    icecast: Annotated[str | None, typer.Option(
        help="Feed Icecast: icecast://source:PASSWORD@HOST:PORT/MOUNT (or $PEDAL_ICECAST_PASSWORD)",
        rich_help_panel="Live stream")] = None,
    rtp: Annotated[str | None, typer.Option(help="Send L24 RTP to ADDRESS:PORT (unicast or multicast)",
                                            rich_help_panel="Live stream")] = None,
    sdp: Annotated[Path | None, typer.Option(help="Write the RTP session description to this file",
                                             rich_help_panel="Live stream")] = None,
    record: Annotated[Path | None, typer.Option(help="Record the performance (.flac, .ogg, .opus), rotated",
                                                rich_help_panel="Live stream")] = None,
    listen_token: Annotated[bool, typer.Option("--listen-token", help="Listeners need a token too",
                                               rich_help_panel="Live stream")] = False,
) -> None:
    """Start the pedal and run until Ctrl-C or SIGTERM."""
    if audio not in AUDIO_CHOICES:
        typer.echo(f"error: --audio {audio!r}: choose one of {', '.join(AUDIO_CHOICES)}", err=True)
        raise typer.Exit(2)
    try:
        # Without the web service nothing streams (and its imports cost a start).
        server_args = [] if no_server else stream_arguments(
            no_stream=no_stream, bitrate=bitrate, icecast=icecast, rtp=rtp, sdp=sdp, record=record,
            listen_token=listen_token)
        check_tls(tls_cert, tls_key)
    except PedalError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from None
    if tls_cert is not None and tls_key is not None:
        server_args += ["--tls-cert", str(tls_cert.resolve()), "--tls-key", str(tls_key.resolve())]
    for origin in cors_origin or []:
        server_args += ["--cors-origin", origin]
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    try:
        pedal, _controller = start_pedal(audio=audio, jack_server=jack_server, preset=preset,
                                         block_size=block_size, data_dir=data_dir, config=config,
                                         server=not no_server, host=host, port=port,
                                         server_args=server_args)
    except PedalError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(getattr(error, "exit_code", 2)) from None
    typer.echo("running (Ctrl-C to stop)", err=False)
    sys.stdout.flush()
    while not stop.wait(0.5):
        pass
    typer.echo("stopping")
    with contextlib.suppress(Exception):
        pedal.stop()


app = typer.Typer(add_completion=False)
app.command()(run)

if __name__ == "__main__":
    app()
