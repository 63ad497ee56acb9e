"""``python -m pedalboard.control run|ctl ...``: the same as ``pedal run`` and
``pedal ctl`` (the top-level ``pedal`` command mounts both)."""

from __future__ import annotations

import typer

from pedalboard.control.ctl import app as ctl_app
from pedalboard.control.run import run

app = typer.Typer(add_completion=False, no_args_is_help=True)
app.command()(run)
app.add_typer(ctl_app, name="ctl")

if __name__ == "__main__":
    app()
