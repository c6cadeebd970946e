"""Where an announcement's audio goes in the hall: the speaker contract and the ALSA one (``aplay``)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Announcement:
    """One call to be announced, as queued by ``Announcer.announce``."""

    seq: int  # the announcer's running count, in call order
    zone: str
    number: str
    window: int
    recall: bool
    text: str  # the sentence for people (请A012号到3号窗口办理)


class SpeakerError(Exception):
    """A speaker that could not play; the message says which and why."""


class Speaker(Protocol):
    async def play(self, announcement: Announcement, wav: bytes, path: Path | None) -> None:
        """Play ``wav`` (a whole WAV file; ``path`` is where it was written, if it was) and return when
        it has been played. Raise SpeakerError when it cannot."""


class AplaySpeaker:
    """The PC's own sound card through ALSA's ``aplay``; a PC without one is skipped, said once in the log.

    The card is looked for at every announcement, so a USB speaker plugged in later is used.
    """

    def __init__(self, *, binary: str = "aplay", devices: Path = Path("/dev/snd")) -> None:
        self.binary, self.devices = binary, devices
        self.skipped = 0
        self._said_missing = False

    def has_device(self) -> bool:
        return any(self.devices.glob("pcmC*D*p"))  # ALSA playback devices; capture ones end in c

    async def play(self, announcement: Announcement, wav: bytes, path: Path | None) -> None:
        if not self.has_device():
            self.skipped += 1
            if not self._said_missing:
                log.info("voice: no sound card (%s/pcmC*D*p), not playing announcements aloud", self.devices)
                self._said_missing = True
            return
        self._said_missing = False
        try:
            process = await asyncio.create_subprocess_exec(
                self.binary,
                "-q",
                "-t",
                "wav",
                "-",
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.PIPE,
            )
        except OSError as exc:
            raise SpeakerError(f"cannot run {self.binary}: {exc}") from None
        try:
            _, err = await process.communicate(wav)
        finally:
            if process.returncode is None:  # cancelled (the announcer's time limit): stop the sound now
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
                await process.wait()
        if process.returncode != 0:
            message = err.decode(errors="replace").strip() or f"exit status {process.returncode}"
            raise SpeakerError(f"{self.binary}: {message}")
