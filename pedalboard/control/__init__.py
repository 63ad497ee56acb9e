"""The pedal's control side: the controller that owns live state, its SQLite
store, the local control socket, and the ``pedal ctl`` / ``pedal run`` commands.

See ``docs/protocol.md`` for the protocol every client speaks.
"""
