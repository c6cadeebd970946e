"""Which devices the hall has, whether each is online, when it was last heard, and how often it failed."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(slots=True)
class DeviceHealth:
    id: str
    kind: str  # window_display, call_keypad, rating_keypad, printer, voice, broker, hall_board
    transport: str  # mqtt, serial, network, simulated, ...
    window: int | None = None
    online: bool = False
    last_seen: float | None = None
    failures: int = 0
    last_error: str = ""

    def seen(self) -> None:
        self.online = True
        self.last_seen = time.time()

    def failed(self, error: str) -> None:
        self.failures += 1
        self.last_error = error[:200]

    def view(self) -> dict[str, Any]:
        return asdict(self)


class Health:
    def __init__(self) -> None:
        self._devices: dict[str, DeviceHealth] = {}

    def add(self, device: DeviceHealth) -> DeviceHealth:
        self._devices[device.id] = device
        return device

    def get(self, device_id: str) -> DeviceHealth | None:
        return self._devices.get(device_id)

    def all(self) -> list[DeviceHealth]:
        return sorted(self._devices.values(), key=lambda d: (d.kind, d.window or 0, d.id))
