"""RS-485 devices: window LEDs (窗口屏), call keypads (呼叫器) and satisfaction keypads (评价器).

Each is a pure codec (``led_codec``, ``keypad_codec``), a driver on a shared serial bus (``led``,
``call_keypad``, ``rating_keypad`` over ``bus`` and ``link``) and a simulator on a pty (``sim``).
The frame formats are in docs/devices.md.
"""
