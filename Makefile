# Two commands on a fresh Debian 12 machine (as root): `make run` and `make test`.
# Both install what they need first (system packages, .venv), idempotently.
.PHONY: install run demo test lint bench

install:
	@bash scripts/install.sh

# The pedal: JACK if a server runs, else ALSA if there is a sound card, else the
# virtual backend with the demo guitar. Web editor and listener page on :8000.
RUN_ARGS ?=
run: install
	.venv/bin/pedal run $(RUN_ARGS)

demo: install
	.venv/bin/pedal demo

test: install
	.venv/bin/python -m pytest -q

lint: install
	.venv/bin/ruff check pedalboard tests benchmarks scripts

bench: install
	@bash scripts/install-bench.sh
	.venv/bin/python benchmarks/run_all.py
