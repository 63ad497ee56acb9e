"""``python -m pedalboard`` is the ``pedal`` command."""

from pedalboard.cli import main

main()
