"""Speech synthesis: espeak-ng as an async subprocess, behind a content-addressed cache in memory and on disk.

The cache key is the SHA-256 of the engine's version, the voice, the speed and the text, so a changed
setting or an upgraded espeak-ng never plays stale audio. Only the speech is cached; the chime and the
repeats are joined per announcement (``audio.render``, well under a millisecond of work).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import re
import shutil
import subprocess
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from devices.voice.audio import Pcm, WavError, parse_wav, wav_bytes

log = logging.getLogger(__name__)

# Speech kept in memory. One sentence at the default speed is ~4.5 s, ~200 KB, so this holds ~80:
# every call of the last half hour or so in a busy hall, which is what a recall (重呼) asks for again.
# Too low: recalls go to disk or espeak again (milliseconds, harmless); too high: the daemon's memory
# grows on a small hall PC for audio that is rarely asked for twice.
MEMORY_CACHE_BYTES = 16 * 1024 * 1024
# Speech kept on disk, oldest used dropped first. Numbers restart every day, so yesterday's "A0001 to
# window 3" is today's too: ~1,300 sentences (256 MB) cover a 660-visitor day with room to spare. Too
# low: little survives to the next day; too high: fills the eMMC of a small hall PC.
DISK_CACHE_BYTES = 256 * 1024 * 1024
# One synthesis takes ~15 ms here. A loaded 2-core box may take a second; a process still running after
# this is hung, and it holds its zone's queue meanwhile. Too low: false failures under load.
SYNTHESIS_TIMEOUT_S = 10.0


class SynthesisError(Exception):
    """espeak-ng could not make the speech; the message says which binary, voice and text."""


@dataclass(frozen=True, slots=True)
class Speech:
    pcm: Pcm
    cached: bool  # from memory or disk: no espeak-ng process ran for it


# Synthesis runs at a lower CPU priority: on a small hall PC it competes with the daemon itself, and a
# window display a few milliseconds late is worse than an announcement a few milliseconds late.
_NICE = ("nice", "-n", "10") if shutil.which("nice") else ()


class EspeakEngine:
    """espeak-ng, one process per sentence not in the cache. An async context manager (it opens the cache).

    Counters: ``runs`` (every espeak-ng process started, the first use's voice and version probes
    included), ``synthesized``,
    ``memory_hits``, ``disk_hits`` (``cache_hits`` is their sum).
    """

    def __init__(
        self,
        *,
        voice: str = "cmn-latn-pinyin",
        speed: int = 150,
        binary: str = "espeak-ng",
        cache_dir: Path | None = None,
        memory_bytes: int = MEMORY_CACHE_BYTES,
        disk_bytes: int = DISK_CACHE_BYTES,
        timeout_s: float = SYNTHESIS_TIMEOUT_S,
    ) -> None:
        if not voice or voice.startswith("-"):
            raise ValueError(f"espeak-ng voice {voice!r}: expected a voice name such as cmn-latn-pinyin")
        self.voice, self.speed, self.binary, self.timeout_s = voice, speed, binary, timeout_s
        self._memory = _MemoryCache(memory_bytes)
        self._disk = _DiskCache(cache_dir, disk_bytes) if cache_dir is not None else None
        self._engine_id: str | None = None
        self.runs = self.synthesized = self.memory_hits = self.disk_hits = 0

    @property
    def cache_hits(self) -> int:
        return self.memory_hits + self.disk_hits

    async def __aenter__(self) -> EspeakEngine:
        if self._disk is not None:
            await asyncio.to_thread(self._disk.open)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        return None

    async def speech(self, text: str) -> Speech:
        """The speech for ``text``, from the cache or from a new espeak-ng run. Raises SynthesisError."""
        key = self._key(await self._engine(), text)
        pcm = self._memory.get(key)
        if pcm is not None:
            self.memory_hits += 1
            return Speech(pcm, cached=True)
        if self._disk is not None:
            pcm = await self._disk.get(key)
            if pcm is not None:
                self.disk_hits += 1
                self._memory.put(key, pcm)
                return Speech(pcm, cached=True)
        pcm = await self._synthesize(text)
        self.synthesized += 1
        self._memory.put(key, pcm)
        if self._disk is not None:
            await self._disk.put(key, pcm)
        return Speech(pcm, cached=False)

    def _key(self, engine_id: str, text: str) -> str:
        material = "\0".join((engine_id, self.voice, str(self.speed), text))
        return hashlib.sha256(material.encode()).hexdigest()

    async def _engine(self) -> str:
        """espeak-ng's version line (it names the data directory too), asked once per engine, after
        making sure the voice exists. Not remembered on failure: a binary or voice installed later is
        picked up at the next announcement."""
        if self._engine_id is None:
            voices = parse_voice_list((await self._run("--voices")).decode(errors="replace"))
            # espeak-ng falls back silently on a name it does not know: "cmn-latn-pinyn" (a typo) is
            # spoken by `cmn`, with English sounds; "no-such-voice" by Norwegian. So check the name.
            name = self.voice.split("+", 1)[0].lower()  # "+f2" and the like pick a variant
            if name not in voices and not name.startswith("mb-"):  # mbrola voices are listed elsewhere
                raise SynthesisError(
                    f"{self.binary} has no voice {self.voice!r} (it would fall back to another voice "
                    "without saying so); see `espeak-ng --voices`"
                )
            self._engine_id = (await self._run("--version")).decode(errors="replace").strip()
        return self._engine_id

    async def _synthesize(self, text: str) -> Pcm:
        # "--" ends the options: a template starting with "-" is still text.
        out = await self._run("-v", self.voice, "-s", str(self.speed), "--stdout", "--", text)
        try:
            pcm = parse_wav(out)
        except WavError as exc:
            raise SynthesisError(
                f"{self.binary} -v {self.voice}: no usable WAV for {text!r}: {exc}"
            ) from None
        if not pcm.frames:
            raise SynthesisError(f"{self.binary} -v {self.voice}: empty audio for {text!r}")
        return pcm

    async def _run(self, *args: str) -> bytes:
        self.runs += 1
        if _NICE and shutil.which(self.binary) is None:  # `nice` would hide it behind its own exit 127
            raise SynthesisError(f"cannot run {self.binary}: not found")
        # In a thread with subprocess.run, not asyncio's subprocesses: subprocess spawns with vfork, while the
        # event loop's spawn forks the whole daemon, which stalled every request for milliseconds per call.
        try:
            done = await asyncio.to_thread(
                subprocess.run,
                [*_NICE, self.binary, *args],
                stdin=subprocess.DEVNULL,
                capture_output=True,
                timeout=self.timeout_s,
                check=False,
            )
        except OSError as exc:  # not installed, not executable
            raise SynthesisError(f"cannot run {self.binary}: {exc}") from None
        except subprocess.TimeoutExpired:  # subprocess.run has killed it: no orphan is left
            raise SynthesisError(f"{self.binary} -v {self.voice}: no answer in {self.timeout_s} s") from None
        if done.returncode != 0:
            message = done.stderr.decode(errors="replace").strip() or f"exit status {done.returncode}"
            raise SynthesisError(f"{self.binary} {' '.join(args)}: {message}")
        out: bytes = done.stdout
        return out


def parse_voice_list(listing: str) -> frozenset[str]:
    """Every name ``espeak-ng -v`` takes exactly, lower-cased, from ``espeak-ng --voices``: the language
    (cmn-latn-pinyin), the voice name, the file (sit/cmn-Latn-pinyin) and its last part, and the other
    languages it answers to (zh-cmn)."""
    names: set[str] = set()
    for line in listing.splitlines()[1:]:
        fields = line.split(maxsplit=5)
        if len(fields) < 5:
            continue
        _priority, language, _age_gender, voice_name, file = fields[:5]
        names |= {language, voice_name, file, file.rsplit("/", 1)[-1]}
        if len(fields) == 6:
            names |= set(re.findall(r"\(([^ ()]+) \d+\)", fields[5]))
    return frozenset(name.lower() for name in names)


class _MemoryCache:
    """Least recently used speech, bounded by the bytes of audio held."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._items: OrderedDict[str, Pcm] = OrderedDict()
        self._bytes = 0

    def get(self, key: str) -> Pcm | None:
        pcm = self._items.get(key)
        if pcm is not None:
            self._items.move_to_end(key)
        return pcm

    def put(self, key: str, pcm: Pcm) -> None:
        old = self._items.pop(key, None)
        if old is not None:
            self._bytes -= len(old.frames)
        self._items[key] = pcm
        self._bytes += len(pcm.frames)
        while self._bytes > self.max_bytes and len(self._items) > 1:
            _, evicted = self._items.popitem(last=False)
            self._bytes -= len(evicted.frames)


class _DiskCache:
    """Speech as WAV files named by their key, least recently used dropped first.

    Files are written whole under a temporary name and renamed, so a crash never leaves a truncated file
    that the key would serve forever; a file that does not parse anyway is deleted and made again. Disk
    trouble (full, read-only) is logged and the announcement goes on without the disk cache.
    """

    def __init__(self, directory: Path, max_bytes: int) -> None:
        self.directory, self.max_bytes = directory, max_bytes
        self._sizes: OrderedDict[str, int] = OrderedDict()  # key -> bytes, least recently used first
        self._bytes = 0

    def open(self) -> None:
        """Index what a previous run left (blocking: run in a thread)."""
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            found = []
            for path in self.directory.iterdir():
                if path.suffix == ".tmp":
                    path.unlink(missing_ok=True)  # a write cut short by a crash
                elif path.suffix == ".wav":
                    stat = path.stat()
                    found.append((stat.st_mtime, path.stem, stat.st_size))
        except OSError as exc:
            log.warning("voice cache %s unusable, running without it: %s", self.directory, exc)
            return
        for _mtime, key, size in sorted(found):
            self._sizes[key] = size
            self._bytes += size
        self._evict()

    def _path(self, key: str) -> Path:
        return self.directory / f"{key}.wav"

    async def get(self, key: str) -> Pcm | None:
        if key not in self._sizes:
            return None
        self._sizes.move_to_end(key)
        path = self._path(key)
        try:
            return parse_wav(await asyncio.to_thread(_read_and_touch, path))
        except (OSError, WavError) as exc:
            log.warning("voice cache file %s unreadable, making it again: %s", path.name, exc)
            self._forget(key)
            return None

    async def put(self, key: str, pcm: Pcm) -> None:
        data = wav_bytes(pcm)
        try:
            await asyncio.to_thread(_write_whole, self._path(key), data)
        except OSError as exc:
            log.warning("voice cache %s: cannot write: %s", self.directory, exc)
            return
        if key not in self._sizes:
            self._bytes += len(data)
        self._sizes[key] = len(data)
        self._sizes.move_to_end(key)
        self._evict()

    def _evict(self) -> None:
        while self._bytes > self.max_bytes and len(self._sizes) > 1:
            self._forget(next(iter(self._sizes)))

    def _forget(self, key: str) -> None:
        self._bytes -= self._sizes.pop(key, 0)
        with contextlib.suppress(OSError):
            self._path(key).unlink(missing_ok=True)


def _read_and_touch(path: Path) -> bytes:
    data = path.read_bytes()
    os.utime(path)  # the file's mtime is its last use, so the order survives a restart
    return data


def _write_whole(path: Path, data: bytes) -> None:
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    tmp.replace(path)
