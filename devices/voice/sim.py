"""A virtual speaker for the demo and the tests: records what it was given to play, in order.

It can hold a zone (play waits until released) and can be broken, to show that calling goes on without it.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

from devices.voice.audio import parse_wav
from devices.voice.speaker import Announcement, SpeakerError


@dataclass(frozen=True, slots=True)
class Played:
    zone: str
    number: str
    window: int
    recall: bool
    text: str
    wav_path: Path | None  # where the announcer wrote the WAV, when the wav output is on
    duration_s: float


class SimSpeaker:
    """Plays nothing and takes no time (``realtime=True``: as long as the audio, for a lifelike demo).

    ``played`` is what finished playing; ``events`` is ("start"|"end", zone, number) in the order seen, to
    check that a zone never talks over itself.
    """

    def __init__(self, *, realtime: bool = False) -> None:
        self.realtime = realtime
        self.broken = False  # set to make every play fail, like an unplugged amplifier
        self.played: list[Played] = []
        self.events: list[tuple[str, str, str]] = []
        self._held: dict[str, asyncio.Event] = {}
        self._changed = asyncio.Event()

    def hold(self, zone: str) -> None:
        """Make plays in ``zone`` wait until ``release(zone)``."""
        self._held.setdefault(zone, asyncio.Event())

    def release(self, zone: str) -> None:
        held = self._held.pop(zone, None)
        if held is not None:
            held.set()

    async def play(self, announcement: Announcement, wav: bytes, path: Path | None) -> None:
        if self.broken:
            raise SpeakerError("simulated speaker: broken")
        duration_s = parse_wav(wav).duration_s
        zone, number = announcement.zone, announcement.number
        self._record("start", zone, number)
        held = self._held.get(zone)
        if held is not None:
            await held.wait()
        # Let other tasks run mid-play, as a real device does, so an overlap would show in `events`.
        await asyncio.sleep(duration_s if self.realtime else 0)
        self.played.append(
            Played(
                zone, number, announcement.window, announcement.recall, announcement.text, path, duration_s
            )
        )
        self._record("end", zone, number)

    async def wait_for(self, count: int, *, zone: str | None = None) -> list[Played]:
        """Wait until ``count`` announcements (in ``zone``, if given) have played; returns them.
        Waits for ever: put it under ``asyncio.timeout``."""

        def mine() -> list[Played]:
            return [p for p in self.played if zone is None or p.zone == zone]

        while len(mine()) < count:
            await self._changed.wait()
            self._changed.clear()
        return mine()

    async def wait_started(self, zone: str, number: str) -> None:
        """Wait until the announcement of ``number`` in ``zone`` has started playing (no time limit)."""
        while ("start", zone, number) not in self.events:
            await self._changed.wait()
            self._changed.clear()

    def _record(self, kind: str, zone: str, number: str) -> None:
        self.events.append((kind, zone, number))
        self._changed.set()
