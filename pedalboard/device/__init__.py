"""The pedal's physical controls: footswitch gestures, GPIO footswitches and
LEDs, the TOML device configuration, and MIDI."""
