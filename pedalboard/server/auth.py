"""Pairing a phone with the pedal, and the tokens that paired phones carry.

Pairing: the controller (engine process) owns a short pairing code, printed
by ``pedal run`` at start (with a QR code of the editor's URL) and by
``pedal ctl pair-code``. A phone sends it once to ``POST /api/v1/pair`` and
receives a long random token, set as an HttpOnly, SameSite=Strict cookie (so
no script on any page can read it and no other site can use it); scripts
send the same token as ``Authorization: Bearer ...``.

The server keeps only SHA-256 hashes of tokens, in its own small JSON file in
the data directory (``server-tokens.json``; the controller's SQLite store is
the controller's alone). A token can be listed and revoked; a stolen token
file reveals no usable token. Wrong codes are rate-limited per client
address (5 a minute by default), which makes guessing a 6-digit code
hopeless.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import secrets
import sys
import threading
import time
from collections import deque
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TextIO

TOKEN_FILE = "server-tokens.json"
COOKIE_NAME = "pedal_token"
MAX_TOKENS = 200


class UnauthorizedError(Exception):
    """No token, or a token that is unknown or revoked (HTTP 401)."""


@dataclass
class TokenRecord:
    """A paired device, without the token itself."""

    id: str
    label: str
    created: float
    last_used: float

    def public(self) -> dict[str, object]:
        return asdict(self)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


class TokenStore:
    """Hashed tokens in a JSON file; thread-safe, atomic writes."""

    def __init__(self, data_dir: str | Path) -> None:
        self.path = Path(data_dir) / TOKEN_FILE
        self._lock = threading.Lock()
        self._records: dict[str, TokenRecord] = {}  # by token hash
        self._load()

    def _load(self) -> None:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return
        except (OSError, ValueError):
            # A damaged file only costs re-pairing; never refuse to start.
            return
        for digest, record in data.get("tokens", {}).items():
            try:
                self._records[digest] = TokenRecord(**record)
            except TypeError:
                continue

    def _save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        payload = {"version": 1, "tokens": {d: asdict(r) for d, r in self._records.items()}}
        with open(tmp, "w", encoding="utf-8") as handle:
            json.dump(payload, handle, indent=1)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, self.path)

    def issue(self, label: str) -> str:
        """A new token for a freshly paired device (the oldest unused one is
        forgotten beyond :data:`MAX_TOKENS`)."""
        token = secrets.token_urlsafe(32)
        digest = _hash(token)
        now = time.time()
        with self._lock:
            if len(self._records) >= MAX_TOKENS:
                oldest = min(self._records, key=lambda d: self._records[d].last_used)
                del self._records[oldest]
            self._records[digest] = TokenRecord(digest[:12], label[:80], now, now)
            self._save()
        return token

    def check(self, token: str | None) -> TokenRecord | None:
        """The record of a valid token, else None (constant-time compare)."""
        if not token or len(token) > 256:
            return None
        digest = _hash(token)
        with self._lock:
            for known, record in self._records.items():
                if hmac.compare_digest(known, digest):
                    record.last_used = time.time()
                    return record
        return None

    def list(self) -> list[TokenRecord]:
        with self._lock:
            return sorted(self._records.values(), key=lambda r: r.created)

    def revoke(self, token_id: str) -> bool:
        with self._lock:
            for digest, record in list(self._records.items()):
                if record.id == token_id:
                    del self._records[digest]
                    self._save()
                    return True
        return False

    def is_revoked(self, record: TokenRecord) -> bool:
        with self._lock:
            return all(r.id != record.id for r in self._records.values())


class RateLimiter:
    """At most ``limit`` failed attempts per ``window_s`` per client address;
    after that every attempt (right or wrong) is refused until the window
    moves on. A correct code is not counted, so pairing several phones in a
    row never trips it."""

    def __init__(self, limit: int = 5, window_s: float = 60.0) -> None:
        self.limit = limit
        self.window_s = window_s
        self._attempts: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, client: str, now: float) -> deque[float]:
        if len(self._attempts) > 10_000:  # forget idle addresses
            self._attempts = {k: v for k, v in self._attempts.items()
                              if v and now - v[-1] < self.window_s}
        attempts = self._attempts.setdefault(client, deque())
        while attempts and now - attempts[0] >= self.window_s:
            attempts.popleft()
        return attempts

    def blocked(self, client: str, now: float | None = None) -> bool:
        """Whether ``client`` used up its attempts in the current window."""
        now = time.monotonic() if now is None else now
        with self._lock:
            return len(self._recent(client, now)) >= self.limit

    def record(self, client: str, now: float | None = None) -> None:
        """Count one (failed) attempt."""
        now = time.monotonic() if now is None else now
        with self._lock:
            self._recent(client, now).append(now)

    def retry_after_s(self, client: str, now: float | None = None) -> int:
        now = time.monotonic() if now is None else now
        with self._lock:
            attempts = self._recent(client, now)
            if not attempts:
                return 0
            return max(1, int(self.window_s - (now - attempts[0])) + 1)


def codes_match(given: str, expected: str) -> bool:
    """Compare pairing codes in constant time, ignoring spaces and dashes."""
    def clean(code: str) -> str:
        return "".join(ch for ch in code if ch not in " -").upper()

    return hmac.compare_digest(clean(given).encode(), clean(expected).encode())


def print_pairing(url: str, code: str, stream: TextIO | None = None) -> None:
    """Print the editor's URL as a QR code for the terminal, then the URL and
    the pairing code. ``pedal run`` calls this at start."""
    import segno

    out = stream or sys.stdout
    qr = segno.make(url, error="m")
    # Half-block characters: half the height of ANSI squares, and readable in a
    # log file too. A terminal that cannot show them still gets the URL and code.
    with contextlib.suppress(UnicodeEncodeError, OSError):
        qr.terminal(out=out, compact=True, border=2)
    print(f"Edit presets from your phone: {url}", file=out)
    print(f"Pairing code: {code}", file=out)
    out.flush()
