"""A networked guitar-effects pedal."""
