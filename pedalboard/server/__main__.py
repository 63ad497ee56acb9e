"""``python -m pedalboard.server --data-dir D [--host H] [--port P]``.

``pedal run`` starts this as a child process; it can also run on its own next
to a pedal started with ``--no-server``.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from pedalboard.server.ws import MAX_MESSAGE_BYTES


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m pedalboard.server",
                                     description="The pedal's web control service.")
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="the pedal's data directory (where control.sock lives); "
                        "default $PEDAL_DATA_DIR or the user's data dir")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on (0.0.0.0 for phones on the LAN)")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--tls-cert", type=Path, help="PEM certificate: serve HTTPS")
    parser.add_argument("--tls-key", type=Path, help="PEM private key for --tls-cert")
    parser.add_argument("--cors-origin", action="append", default=[], metavar="ORIGIN",
                        help="allow this web origin (repeatable); closed by default")
    stream = parser.add_argument_group("live stream (listeners: /listen/, /stream.ogg)")
    stream.add_argument("--no-stream", action="store_true", help="do not stream the pedal's output")
    stream.add_argument("--bitrate", type=int, default=128000, help="Opus bit rate, b/s (default 128000)")
    stream.add_argument("--frame-ms", type=float, default=20.0, help="Opus frame, 10 or 20 ms")
    stream.add_argument("--icecast", metavar="URL",
                        help="feed an Icecast server: icecast://source:PASSWORD@HOST:PORT/MOUNT "
                        "(or the password in $PEDAL_ICECAST_PASSWORD)")
    stream.add_argument("--rtp", metavar="ADDRESS:PORT", help="send L24 RTP (AES67-style), 1 ms packets")
    stream.add_argument("--sdp", type=Path, metavar="FILE", help="write the RTP session description here")
    stream.add_argument("--record", type=Path, metavar="FILE",
                        help="record the performance (.flac, .ogg or .opus), rotated hourly")
    stream.add_argument("--listen-token", action="store_true",
                        help="listeners need a token too (public by default)")
    parser.add_argument("--log-level", default="info",
                        choices=["critical", "error", "warning", "info", "debug"])
    return parser.parse_args(argv)


def default_data_dir() -> Path:
    env = os.environ.get("PEDAL_DATA_DIR")
    if env:
        return Path(env)
    from platformdirs import user_data_dir

    return Path(user_data_dir("netpedal"))


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if (args.tls_cert is None) != (args.tls_key is None):
        print("error: --tls-cert and --tls-key go together", file=sys.stderr)
        return 2
    for option, path in (("--tls-cert", args.tls_cert), ("--tls-key", args.tls_key)):
        if path is not None and not path.is_file():
            print(f"error: {option} {path}: no such file", file=sys.stderr)
            return 2
    stream = None
    if not args.no_stream:
        from pedalboard.errors import PedalError
        from pedalboard.stream.service import StreamOptions

        stream = StreamOptions(bitrate=args.bitrate, frame_ms=args.frame_ms, icecast=args.icecast,
                               rtp=args.rtp, sdp=args.sdp, record=args.record,
                               listen_needs_token=args.listen_token)
        try:
            stream.check()
        except PedalError as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
    import uvicorn

    from pedalboard.server.app import Settings, create_app

    logging.basicConfig(level=args.log_level.upper(), format="%(levelname)s %(name)s: %(message)s")
    settings = Settings(data_dir=args.data_dir or default_data_dir(),
                        cors_origins=list(args.cors_origin), stream=stream)
    app = create_app(settings)
    try:
        uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level,
                    ssl_certfile=str(args.tls_cert) if args.tls_cert else None,
                    ssl_keyfile=str(args.tls_key) if args.tls_key else None,
                    ws_max_size=4 * MAX_MESSAGE_BYTES, access_log=False)
    except KeyboardInterrupt:
        pass
    except OSError as error:
        print(f"error: cannot listen on {args.host}:{args.port}: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
