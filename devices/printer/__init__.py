"""The kiosk's ticket printer (取号机): ESC/POS tickets, a decoder for them, the driver and a simulator.

``ticket`` and ``decode`` are pure (bytes in, bytes out); ``driver`` is the only module that does I/O
on a real printer; ``sim`` stands in for one in the demo and in tests. See docs/devices.md.
"""
