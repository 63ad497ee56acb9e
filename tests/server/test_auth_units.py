"""Token store, rate limiter and the start-up pairing print, without servers."""

from __future__ import annotations

import io
import json
import stat

import segno

from pedalboard.server.auth import RateLimiter, TokenStore, codes_match, print_pairing


def test_tokens_survive_a_restart_hashed_and_revocable(tmp_path) -> None:
    store = TokenStore(tmp_path)
    token = store.issue("Pixel 8")
    other = store.issue("laptop")
    on_disk = (tmp_path / "server-tokens.json").read_text()
    assert token not in on_disk and other not in on_disk
    assert stat.S_IMODE((tmp_path / "server-tokens.json").stat().st_mode) == 0o600
    reopened = TokenStore(tmp_path)
    record = reopened.check(token)
    assert record is not None and record.label == "Pixel 8"
    assert reopened.check(token + "x") is None and reopened.check("") is None
    assert reopened.revoke(record.id)
    assert reopened.check(token) is None and reopened.check(other) is not None
    assert TokenStore(tmp_path).check(token) is None
    assert not reopened.revoke("no-such-id")


def test_a_damaged_token_file_means_re_pairing_not_a_crash(tmp_path) -> None:
    (tmp_path / "server-tokens.json").write_text("{not json")
    store = TokenStore(tmp_path)
    assert store.list() == []
    token = store.issue("phone")
    assert json.loads((tmp_path / "server-tokens.json").read_text())["version"] == 1
    assert store.check(token) is not None


def test_rate_limit_counts_failures_per_address_and_window() -> None:
    limiter = RateLimiter(limit=5, window_s=60.0)
    for second in range(5):
        assert not limiter.blocked("10.0.0.2", now=100.0 + second)
        limiter.record("10.0.0.2", now=100.0 + second)
    assert limiter.blocked("10.0.0.2", now=110.0)
    assert not limiter.blocked("10.0.0.3", now=110.0), "another phone is not punished"
    assert limiter.retry_after_s("10.0.0.2", now=110.0) == 51
    assert not limiter.blocked("10.0.0.2", now=160.5), "the first failure has left the window"


def test_codes_match_ignores_spacing_only() -> None:
    assert codes_match("123 456", "123456")
    assert codes_match("123-456", "123456")
    assert not codes_match("123457", "123456")
    assert not codes_match("", "123456")


def test_print_pairing_shows_a_qr_of_the_url_and_the_code() -> None:
    out = io.StringIO()
    url = "http://192.168.1.20:8000/"
    print_pairing(url, "042137", stream=out)
    lines = out.getvalue().splitlines()
    width, height = segno.make(url, error="m").symbol_size(border=2)
    qr_lines = lines[:-2]
    assert len(qr_lines) == (height + 1) // 2  # two modules per character row
    assert all(len(line) == width for line in qr_lines)
    assert lines[-2] == f"Edit presets from your phone: {url}"
    assert lines[-1] == "Pairing code: 042137"
