"""The device hub: turns committed events into what the hall's devices show and say, and what devices
send in (keys, ratings) into commands. Drivers live in devices/; this package is the daemon's side."""
