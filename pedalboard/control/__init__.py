"""The pedal's control side: the controller that owns live state, its SQLite
store, the local control socket, and the ``pedal ctl`` / ``pedal run`` commands.

See ``docs/protocol.md`` for the protocol every client speaks.
"""

from __future__ import annotations

import os
from pathlib import Path

#: Environment variable naming the data directory (``--data-dir`` wins).
DATA_DIR_ENV = "PEDAL_DATA_DIR"


def resolve_data_dir(data_dir: str | Path | None = None) -> Path:
    """``--data-dir``, else ``$PEDAL_DATA_DIR``, else the user's data dir."""
    if data_dir:
        return Path(data_dir).expanduser().absolute()
    if os.environ.get(DATA_DIR_ENV):
        return Path(os.environ[DATA_DIR_ENV]).expanduser().absolute()
    from platformdirs import user_data_dir

    return Path(user_data_dir("netpedal"))
