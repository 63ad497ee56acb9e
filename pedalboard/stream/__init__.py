"""Live streaming: Opus in Ogg over HTTP, Opus packets over WebSocket, an
Icecast source client for scale, and RTP L24 for pro-audio gear.

Everything here runs outside the audio thread: the hub reads the engine's
shared-memory output ring, encodes once and fans out with bounded queues.
"""
