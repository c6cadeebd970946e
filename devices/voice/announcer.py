"""The voice caller (语音叫号): calls queued per zone and announced one at a time, in call order.

``Announcer.announce`` only queues and returns, so the calling path never waits on audio. Each zone has
its own queue and worker task: zones speak at once, a zone never talks over itself. A failure of
synthesis, the WAV file, MQTT or the speaker is logged and counted and the queue goes on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol

from devices.voice.audio import Rendered, render
from devices.voice.engine import EspeakEngine, SynthesisError
from devices.voice.speaker import Announcement, AplaySpeaker, Speaker
from devices.voice.text import announcement_text, check_template, display_text

log = logging.getLogger(__name__)


class VoiceSettings(Protocol):
    """What the announcer reads of ``[devices.voice]`` (hallctl.config_devices.Voice fits); devices do not
    import the daemon's modules."""

    @property
    def template(self) -> str: ...
    @property
    def repeat(self) -> int: ...
    @property
    def chime(self) -> bool: ...
    @property
    def voice(self) -> str: ...
    @property
    def speed(self) -> int: ...
    @property
    def outputs(self) -> Sequence[str]: ...  # any of "mqtt", "wav", "sound"


#: (zone, payload) -> None. The daemon publishes the payload on hallctl/{hall}/voice/{zone}, QoS 1.
PublishCallback = Callable[[str, dict[str, Any]], Awaitable[None]]

PAYLOAD_VERSION = 1

# Calls waiting in one zone. An announcement with its chime and two repeats is ~10 s, so 30 waiting is
# five minutes behind: by then the first of them has been recalled or marked a no-show at the window,
# and the newest call is the one a clerk is waiting on. So a full queue drops its *oldest* call (counted
# in ``dropped``) rather than refusing the new one or making the caller wait. Too low: the burst of
# calls when a zone's windows open together loses real calls; too high: a zone plays stale calls for
# minutes after its speaker comes back.
QUEUE_LIMIT = 30
# Finished WAV files kept in {directory}/out for checking what was said; older ones are deleted.
# Too low: the file is gone before anyone looks; too high: ~450 KB a file piles up on a small disk.
KEEP_WAV_FILES = 100
# How long a speaker may take beyond the audio's own length before it is taken for hung. Opening a USB
# sound device takes well under a second; too low cuts a slow device off mid-sentence; too high lets a
# hung device hold its zone's queue that long.
PLAY_MARGIN_S = 5.0
# How long the publish callback may take. The daemon's link only queues, so this is a guard against a
# callback that blocks; too high holds the zone's queue that long.
PUBLISH_TIMEOUT_S = 5.0
# ready_latency samples kept for the benchmark and /metrics.
LATENCY_SAMPLES = 10_000


@dataclass(frozen=True, slots=True)
class VoiceStats:
    announced: int  # audio made and every output done
    failures: int  # failed steps: text, synthesis, wav file, mqtt, speaker (one announcement may fail twice)
    dropped: int  # oldest calls dropped from a full zone queue
    cache_hits: int  # speech from the memory or disk cache, no espeak-ng run
    synthesized: int  # espeak-ng runs that made speech
    sound_skipped: int  # announcements not played aloud for want of a sound card
    waiting: int  # queued now, all zones


class Announcer:
    """Announces calls per ``[devices.voice]``. An async context manager that owns one task per zone.

    ``directory`` is the resolved voice folder: speech cache in ``cache/``, finished WAVs in ``out/``.
    Without ``publish`` the ``mqtt`` output is off; ``speaker`` (default: ``aplay``) serves ``sound``.
    """

    def __init__(
        self,
        config: VoiceSettings,
        *,
        directory: Path,
        publish: PublishCallback | None = None,
        speaker: Speaker | None = None,
        espeak: str = "espeak-ng",
        queue_limit: int = QUEUE_LIMIT,
        keep_files: int = KEEP_WAV_FILES,
    ) -> None:
        check_template(config.template)  # a bad template is a configuration error: refuse to start
        if queue_limit < 1 or keep_files < 1:
            raise ValueError(f"queue_limit and keep_files must be at least 1: {queue_limit}, {keep_files}")
        self.config = config
        self.directory = directory
        self.engine = EspeakEngine(
            voice=config.voice, speed=config.speed, binary=espeak, cache_dir=directory / "cache"
        )
        self.speaker: Speaker = speaker if speaker is not None else AplaySpeaker()
        self.queue_limit = queue_limit
        self._boot = secrets.token_hex(4)  # this run's part of each announcement's id
        self._outputs = set(config.outputs)
        self._publish = publish
        if "mqtt" in self._outputs and publish is None:
            self._outputs.discard("mqtt")
            log.info("voice: no MQTT broker, the mqtt output is off")
        self._files = _WavFiles(directory / "out", keep_files)
        self._zones: dict[str, _Zone] = {}
        self._open = False
        self._seq = 0
        self.announced = self.failures = self.dropped = 0
        #: seconds from announce() to the finished announcement's audio, newest last
        self.ready_latency: deque[float] = deque(maxlen=LATENCY_SAMPLES)

    async def __aenter__(self) -> Announcer:
        await self.engine.__aenter__()
        if "wav" in self._outputs:
            try:
                self._seq = await asyncio.to_thread(self._files.open)
            except OSError as exc:  # each write will fail and be counted; calling must not
                log.warning("voice: the WAV folder %s is unusable: %s", self._files.directory, exc)
        self._open = True
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        """Stops at once: what is still queued is not announced (call ``join()`` first to finish it)."""
        self._open = False
        left = sum(zone.queue.qsize() for zone in self._zones.values())
        if left:
            log.info("voice: stopping with %d announcement(s) not made", left)
        for zone in self._zones.values():
            zone.task.cancel()
        for zone in self._zones.values():
            with contextlib.suppress(asyncio.CancelledError):
                await zone.task
        self._zones.clear()
        await self.engine.__aexit__(exc_type, exc, tb)

    async def announce(self, zone: str, number: str, window: int, *, recall: bool = False) -> None:
        """Queue the call of ``number`` to ``window`` in ``zone``; returns at once, without waiting for it.

        A recall (重呼) says the same sentence again; ``recall`` is passed on in the MQTT payload.
        """
        if not self._open:
            raise RuntimeError("Announcer.announce() outside `async with Announcer(...)`")
        self._seq += 1
        item = _Queued(
            Announcement(
                seq=self._seq,
                zone=zone,
                number=number,
                window=window,
                recall=recall,
                text=display_text(self.config.template, number, window),  # checked in __init__
            ),
            queued_at=time.perf_counter(),
        )
        state = self._zones.get(zone)
        if state is None:
            state = self._zones[zone] = self._start_zone(zone)
        if state.queue.qsize() >= self.queue_limit:
            oldest = state.queue.get_nowait()
            state.queue.task_done()
            self.dropped += 1
            log.warning(
                "voice zone %s: %d calls behind, dropped the oldest (%s to window %d)",
                zone,
                self.queue_limit,
                oldest.announcement.number,
                oldest.announcement.window,
            )
        state.queue.put_nowait(item)

    async def join(self) -> None:
        """Wait until every announcement queued so far has been made (or has failed)."""
        await asyncio.gather(*(zone.queue.join() for zone in list(self._zones.values())))

    def stats(self) -> VoiceStats:
        return VoiceStats(
            announced=self.announced,
            failures=self.failures,
            dropped=self.dropped,
            cache_hits=self.engine.cache_hits,
            synthesized=self.engine.synthesized,
            sound_skipped=getattr(self.speaker, "skipped", 0),
            waiting=sum(zone.queue.qsize() for zone in self._zones.values()),
        )

    # -- per zone ------------------------------------------------------------------------------------
    def _start_zone(self, zone: str) -> _Zone:
        queue: asyncio.Queue[_Queued] = asyncio.Queue()  # bounded by announce(), which drops the oldest
        task = asyncio.create_task(self._work(zone, queue), name=f"voice zone {zone}")
        return _Zone(queue, task)

    async def _work(self, zone: str, queue: asyncio.Queue[_Queued]) -> None:
        while True:
            item = await queue.get()
            try:
                await self._announce_one(item)
            except Exception:  # a bug, not a device fault: still must not stop the zone
                self._failed(item.announcement, "announcer", None)
                log.exception("voice zone %s: announcing %s failed", zone, item.announcement.number)
            finally:
                queue.task_done()

    async def _announce_one(self, item: _Queued) -> None:
        call = item.announcement
        ok = True
        rendered: Rendered | None = None
        try:
            text = announcement_text(self.config.template, call.number, call.window)
            speech = await self.engine.speech(text.speech)
            # Joining chime and repeats and hashing ~0.5 MB of audio: off the loop, which serves the calls.
            rendered = await asyncio.to_thread(
                render, speech.pcm, repeat=self.config.repeat, with_chime=self.config.chime
            )
            self.ready_latency.append(time.perf_counter() - item.queued_at)
        except (ValueError, SynthesisError) as exc:
            ok = self._failed(call, "synthesis", exc)

        path: Path | None = None
        if rendered is not None and "wav" in self._outputs:
            try:
                path = await asyncio.to_thread(self._files.write, call, rendered.wav)
            except OSError as exc:
                ok = self._failed(call, "wav file", exc)

        if "mqtt" in self._outputs and self._publish is not None:
            # Published even when there is no audio: the board's subtitle and a zone's own player (which
            # may speak the text itself) still need the call. Then wav_sha256 and duration_s are null.
            try:
                async with asyncio.timeout(PUBLISH_TIMEOUT_S):
                    await self._publish(call.zone, _payload(call, self.config.repeat, rendered, self._boot))
            except Exception as exc:  # whatever the callback raises, calling goes on
                ok = self._failed(call, "mqtt", exc)

        if rendered is not None and "sound" in self._outputs:
            try:
                async with asyncio.timeout(rendered.duration_s + PLAY_MARGIN_S):
                    await self.speaker.play(call, rendered.wav, path)
            except Exception as exc:  # SpeakerError, TimeoutError, or a speaker's own bug
                ok = self._failed(call, "speaker", exc)

        if ok and rendered is not None:
            self.announced += 1

    def _failed(self, call: Announcement, step: str, exc: BaseException | None) -> bool:
        self.failures += 1
        if exc is not None:
            log.warning(
                "voice zone %s: %s %s to window %d: %s failed: %s",
                call.zone,
                "recall of" if call.recall else "call of",
                call.number,
                call.window,
                step,
                str(exc) or repr(exc),
            )
        return False


@dataclass(frozen=True, slots=True)
class _Queued:
    announcement: Announcement
    queued_at: float  # time.perf_counter() at announce()


@dataclass(slots=True)
class _Zone:
    queue: asyncio.Queue[_Queued]
    task: asyncio.Task[None]


def _payload(call: Announcement, repeat: int, rendered: Rendered | None, boot: str) -> dict[str, Any]:
    return {
        "v": PAYLOAD_VERSION,
        # Unique per announcement (this run of the daemon, then the running count): QoS 1 may deliver a
        # message twice, and a speaker drops one whose id it has just played. Two recalls of one ticket
        # are equal in every other field, so equality of payloads would drop a genuine recall.
        "id": f"{boot}-{call.seq}",
        "zone": call.zone,
        "number": call.number,
        "window": call.window,
        "text": call.text,
        "repeat": repeat,
        "recall": call.recall,
        "wav_sha256": rendered.sha256 if rendered is not None else None,
        "duration_s": round(rendered.duration_s, 3) if rendered is not None else None,
    }


def _safe_name(text: str) -> str:
    """``text`` usable in a file name: letters (of any script), digits and _ kept, the rest _."""
    return "".join(c if c.isalnum() or c == "_" else "_" for c in text)[:40] or "_"


class _WavFiles:
    """The finished announcements, ``{zone}-{seq}-{number}.wav``; only the newest ``keep`` stay.

    Blocking file work: called in a thread.
    """

    def __init__(self, directory: Path, keep: int) -> None:
        self.directory, self.keep = directory, keep
        self._kept: deque[Path] = deque()
        self._lock = threading.Lock()  # zones write from their own threads at once

    def open(self) -> int:
        """Take over the files a previous run left; returns the last sequence number used."""
        self.directory.mkdir(parents=True, exist_ok=True)
        for tmp in self.directory.glob("*.tmp"):
            tmp.unlink(missing_ok=True)  # a write cut short by a crash
        found: list[tuple[int, Path]] = []
        for path in self.directory.glob("*.wav"):
            parts = path.stem.rsplit("-", 2)
            if len(parts) == 3 and parts[1].isdigit():
                found.append((int(parts[1]), path))
        found.sort()
        with self._lock:
            self._kept.extend(path for _, path in found)
            self._prune()
        return found[-1][0] if found else 0

    def write(self, call: Announcement, wav: bytes) -> Path:
        self.directory.mkdir(parents=True, exist_ok=True)  # recreated if someone cleaned the folder
        path = self.directory / f"{_safe_name(call.zone)}-{call.seq:06d}-{_safe_name(call.number)}.wav"
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(wav)
        tmp.replace(path)  # whole or absent: a player never picks up half a file
        with self._lock:
            self._kept.append(path)
            self._prune()
        return path

    def _prune(self) -> None:
        while len(self._kept) > self.keep:
            self._kept.popleft().unlink(missing_ok=True)
