"""The voice caller with the real espeak-ng: the WAV it makes, the cache, per-zone order, and failures
that are counted while calling goes on. Nothing sleeps to wait: tests await the announcer's queues or
the simulated speaker, under a timeout."""

from __future__ import annotations

import asyncio
import hashlib
import io
import logging
import re
import shutil
import stat
import struct
import subprocess
import wave
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from devices.voice import announcer as announcer_module
from devices.voice.announcer import Announcer
from devices.voice.audio import (
    GAP_AFTER_CHIME_S,
    GAP_BETWEEN_REPEATS_S,
    RATE,
    Pcm,
    WavError,
    assemble,
    chime,
    parse_wav,
    wav_bytes,
)
from devices.voice.engine import EspeakEngine, SynthesisError
from devices.voice.sim import SimSpeaker
from devices.voice.speaker import AplaySpeaker
from devices.voice.text import DEFAULT_TEMPLATE, announcement_text
from hallctl.config_devices import Voice

ESPEAK = shutil.which("espeak-ng")
needs_espeak = pytest.mark.skipif(ESPEAK is None, reason="espeak-ng is not installed (apt install espeak-ng)")

WAIT = 10.0  # seconds any single wait may take before the test fails instead of hanging
Publish = Callable[[str, dict[str, Any]], Awaitable[None]]


# -- fixtures ------------------------------------------------------------------------------------------
@pytest.fixture
def voice_dir(tmp_path: Path) -> Path:
    return tmp_path / "voice"


@pytest.fixture
def speaker() -> SimSpeaker:
    return SimSpeaker()


@pytest.fixture
def published() -> list[tuple[str, dict[str, Any]]]:
    return []


@pytest.fixture
def publish(published: list[tuple[str, dict[str, Any]]]) -> Publish:
    async def publish(zone: str, payload: dict[str, Any]) -> None:
        published.append((zone, payload))

    return publish


@pytest.fixture
async def every_output(voice_dir: Path, speaker: SimSpeaker, publish: Publish) -> AsyncIterator[Announcer]:
    """An announcer with the default sentence, chime and two repeats, to WAV files, MQTT and the speaker."""
    config = Voice(outputs=("mqtt", "wav", "sound"))
    async with Announcer(config, directory=voice_dir, publish=publish, speaker=speaker) as announcer:
        yield announcer


@pytest.fixture
async def plain_speech(voice_dir: Path, speaker: SimSpeaker) -> AsyncIterator[Announcer]:
    """An announcer saying the sentence once, no chime, to WAV files and the speaker."""
    config = Voice(repeat=1, chime=False, outputs=("wav", "sound"))
    async with Announcer(config, directory=voice_dir, speaker=speaker) as announcer:
        yield announcer


async def finished(announcer: Announcer) -> None:
    async with asyncio.timeout(WAIT):
        await announcer.join()


def wav_files(voice_dir: Path) -> list[Path]:
    return sorted((voice_dir / "out").glob("*.wav"))


def spoil_cache_files(cache_dir: Path) -> list[Path]:
    """Cut every cached WAV short, as a disk that lost the end of a file would."""
    files = sorted(cache_dir.glob("*.wav"))
    for path in files:
        path.write_bytes(b"RIFF\x00\x00")
    return files


def read_wav(path: Path) -> wave.Wave_read:
    return wave.open(io.BytesIO(path.read_bytes()))


# -- the audio ------------------------------------------------------------------------------------------
@needs_espeak
async def test_an_announcement_is_a_mono_16_bit_22050_hz_wav_of_plausible_length(
    plain_speech: Announcer, voice_dir: Path
) -> None:
    await plain_speech.announce("main", "A012", 3)
    await finished(plain_speech)

    [path] = wav_files(voice_dir)
    assert path.name == "main-000001-A012.wav"
    with read_wav(path) as audio:
        assert (audio.getnchannels(), audio.getsampwidth(), audio.getframerate()) == (1, 2, 22_050)
        assert 1.0 < audio.getnframes() / audio.getframerate() < 10.0


@needs_espeak
async def test_the_chime_and_the_repeat_make_it_longer_by_exactly_their_length(
    plain_speech: Announcer, every_output: Announcer, voice_dir: Path, speaker: SimSpeaker
) -> None:
    await plain_speech.announce("main", "A012", 3)
    await finished(plain_speech)
    await every_output.announce("main", "A012", 3)
    await finished(every_output)

    once, twice_with_chime = (p.duration_s for p in speaker.played)
    extra = chime().duration_s + GAP_AFTER_CHIME_S + GAP_BETWEEN_REPEATS_S + once
    assert twice_with_chime == pytest.approx(once + extra, abs=0.001)


@needs_espeak
def test_the_speech_is_mandarin_with_tones_and_letter_names() -> None:
    # espeak-ng -x shows the phonemes: "(en)" would mean it switched to English sounds.
    for number in ("A012", "BA0305", "HE1", "Q9999"):
        speech = announcement_text(DEFAULT_TEMPLATE, number, 12).speech
        phonemes = subprocess.run(
            [ESPEAK or "espeak-ng", "-v", "cmn-latn-pinyin", "-q", "-x", "--", speech],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert "(en)" not in phonemes
        assert "s.'i.35_| '@r51" in phonemes  # 十二: shí (tone 2, 35) èr (tone 4, 51)


# -- the cache ------------------------------------------------------------------------------------------
@needs_espeak
async def test_the_same_sentence_again_comes_from_the_cache_without_running_espeak(
    every_output: Announcer, published: list[tuple[str, dict[str, Any]]]
) -> None:
    await every_output.announce("main", "A012", 3)
    await finished(every_output)
    runs = every_output.engine.runs

    await every_output.announce("main", "A012", 3, recall=True)
    await finished(every_output)

    assert every_output.engine.runs == runs  # no espeak-ng process at all
    stats = every_output.stats()
    assert (stats.synthesized, stats.cache_hits, stats.announced) == (1, 1, 2)
    first, recall = (payload for _, payload in published)
    assert first["wav_sha256"] == recall["wav_sha256"]
    assert (first["recall"], recall["recall"]) == (False, True)


@needs_espeak
async def test_the_disk_cache_outlives_the_announcer(voice_dir: Path, speaker: SimSpeaker) -> None:
    config = Voice(outputs=("sound",))
    async with Announcer(config, directory=voice_dir, speaker=speaker) as announcer:
        await announcer.announce("main", "B007", 5)
        await finished(announcer)
    async with Announcer(config, directory=voice_dir, speaker=speaker) as announcer:
        await announcer.announce("main", "B007", 5)
        await finished(announcer)
        assert (announcer.engine.synthesized, announcer.engine.disk_hits) == (0, 1)
        assert announcer.engine.runs == 2  # only the first use's probes: the voice list and the version
    assert speaker.played[0].duration_s == speaker.played[1].duration_s


@needs_espeak
async def test_a_spoiled_cache_file_is_made_again(tmp_path: Path) -> None:
    async with EspeakEngine(cache_dir=tmp_path) as engine:
        first = await engine.speech("请A零一二号到三号窗口办理")
    [cached] = spoil_cache_files(tmp_path)
    async with EspeakEngine(cache_dir=tmp_path) as engine:
        again = await engine.speech("请A零一二号到三号窗口办理")
        assert (again.cached, engine.synthesized) == (False, 1)
    assert again.pcm == first.pcm
    assert parse_wav(cached.read_bytes()) == first.pcm


@needs_espeak
async def test_a_different_speed_is_a_different_cache_entry(tmp_path: Path) -> None:
    async with (
        EspeakEngine(cache_dir=tmp_path, speed=150) as normal,
        EspeakEngine(cache_dir=tmp_path, speed=250) as fast,
    ):
        slow_speech = await normal.speech("请A零一二号到三号窗口办理")
        fast_speech = await fast.speech("请A零一二号到三号窗口办理")
    assert not fast_speech.cached
    assert fast_speech.pcm.duration_s < slow_speech.pcm.duration_s


# -- order ------------------------------------------------------------------------------------------------
@needs_espeak
async def test_calls_in_one_zone_are_announced_one_at_a_time_in_call_order(
    plain_speech: Announcer, speaker: SimSpeaker
) -> None:
    numbers = [f"A{n:03d}" for n in range(1, 9)]
    await asyncio.gather(*(plain_speech.announce("main", number, 3) for number in numbers))
    await finished(plain_speech)

    assert [p.number for p in speaker.played] == numbers
    expected = [(kind, "main", number) for number in numbers for kind in ("start", "end")]
    assert speaker.events == expected  # each ends before the next starts


@needs_espeak
async def test_two_zones_speak_independently(plain_speech: Announcer, speaker: SimSpeaker) -> None:
    speaker.hold("east")  # east's speaker is stuck in its first announcement
    await plain_speech.announce("east", "A001", 1)
    await plain_speech.announce("west", "B001", 7)
    await plain_speech.announce("east", "A002", 2)
    await plain_speech.announce("west", "B002", 8)

    async with asyncio.timeout(WAIT):
        west = await speaker.wait_for(2, zone="west")
        await speaker.wait_started("east", "A001")
    assert [p.number for p in west] == ["B001", "B002"]
    assert [p.number for p in speaker.played if p.zone == "east"] == []

    speaker.release("east")
    await finished(plain_speech)
    assert [p.number for p in speaker.played if p.zone == "east"] == ["A001", "A002"]


@needs_espeak
async def test_a_zone_far_behind_drops_its_oldest_calls(voice_dir: Path, speaker: SimSpeaker) -> None:
    config = Voice(repeat=1, chime=False, outputs=("sound",))
    async with Announcer(config, directory=voice_dir, speaker=speaker, queue_limit=2) as announcer:
        speaker.hold("main")
        await announcer.announce("main", "A001", 1)
        async with asyncio.timeout(WAIT):
            await speaker.wait_started("main", "A001")
        for number in ("A002", "A003", "A004"):
            await announcer.announce("main", number, 1)
        assert (announcer.stats().dropped, announcer.stats().waiting) == (1, 2)
        speaker.release("main")
        await finished(announcer)
    assert [p.number for p in speaker.played] == ["A001", "A003", "A004"]


# -- failures ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("voice", "binary"),
    [
        ("no-such-voice", ESPEAK or "espeak-ng"),  # espeak-ng itself would speak it in Norwegian ("no")
        ("cmn-latn-pinyn", ESPEAK or "espeak-ng"),  # ... and this typo with `cmn`'s English sounds
        ("cmn-latn-pinyin", "/nonexistent/espeak-ng"),
    ],
    ids=["unknown voice", "misspelt voice", "missing binary"],
)
async def test_a_failing_engine_is_counted_and_calling_goes_on(
    voice: str,
    binary: str,
    voice_dir: Path,
    speaker: SimSpeaker,
    publish: Publish,
    published: list[tuple[str, dict[str, Any]]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    if ESPEAK is None and binary == "espeak-ng":
        pytest.skip("espeak-ng is not installed")
    config = Voice(voice=voice, outputs=("mqtt", "wav", "sound"))
    async with Announcer(config, directory=voice_dir, publish=publish, speaker=speaker, espeak=binary) as a:
        for number in ("A001", "A002", "A003"):
            await a.announce("main", number, 1)
        await finished(a)
        stats = a.stats()
    assert (stats.failures, stats.announced) == (3, 0)
    assert speaker.played == [] and wav_files(voice_dir) == []
    # The board still learns of every call, in order, without audio.
    assert [(p["number"], p["wav_sha256"], p["duration_s"]) for _, p in published] == [
        ("A001", None, None),
        ("A002", None, None),
        ("A003", None, None),
    ]
    assert "synthesis failed" in caplog.text and "A003" in caplog.text


@needs_espeak
async def test_a_broken_speaker_is_counted_and_the_next_call_plays(
    every_output: Announcer, speaker: SimSpeaker, published: list[tuple[str, dict[str, Any]]]
) -> None:
    speaker.broken = True
    await every_output.announce("main", "A001", 1)
    await finished(every_output)
    speaker.broken = False
    await every_output.announce("main", "A002", 1)
    await finished(every_output)

    assert [p.number for p in speaker.played] == ["A002"]
    assert [p["number"] for _, p in published] == ["A001", "A002"]
    assert (every_output.stats().failures, every_output.stats().announced) == (1, 1)


@needs_espeak
async def test_a_hung_speaker_is_given_up_on_and_the_zone_goes_on(
    voice_dir: Path, speaker: SimSpeaker, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(announcer_module, "PLAY_MARGIN_S", 0.05)  # the limit is the audio's length + this
    config = Voice(repeat=1, chime=False, speed=450, outputs=("sound",))
    async with Announcer(config, directory=voice_dir, speaker=speaker) as announcer:
        speaker.hold("main")
        await announcer.announce("main", "A001", 1)
        async with asyncio.timeout(WAIT):
            await speaker.wait_started("main", "A001")
        await announcer.announce("main", "A002", 1)
        async with asyncio.timeout(WAIT):
            await speaker.wait_started("main", "A002")  # A001 given up on: the zone moved on
        assert announcer.stats().failures == 1
        speaker.release("main")
        await finished(announcer)
    assert [p.number for p in speaker.played] == ["A002"]


async def test_a_failing_publish_callback_is_counted(voice_dir: Path, speaker: SimSpeaker) -> None:
    async def broker_down(zone: str, payload: dict[str, Any]) -> None:
        raise ConnectionError("broker away")

    config = Voice(outputs=("mqtt",))
    async with Announcer(config, directory=voice_dir, publish=broker_down, espeak="/nonexistent") as a:
        await a.announce("main", "A001", 1)
        await finished(a)
        assert a.stats().failures == 2  # no audio, and no broker


# -- outputs ------------------------------------------------------------------------------------------------
@needs_espeak
async def test_the_mqtt_payload_describes_the_wav(
    every_output: Announcer, voice_dir: Path, published: list[tuple[str, dict[str, Any]]]
) -> None:
    await every_output.announce("hall-2f", "BA012", 12)
    await finished(every_output)

    [(zone, payload)] = published
    [path] = wav_files(voice_dir)
    with read_wav(path) as audio:
        duration = audio.getnframes() / audio.getframerate()
    assert zone == "hall-2f"
    assert re.fullmatch(r"[0-9a-f]{8}-\d+", payload.pop("id")), "this run's id, then the running count"
    assert payload == {
        "v": 1,
        "zone": "hall-2f",
        "number": "BA012",
        "window": 12,
        "text": "请BA012号到12号窗口办理",
        "repeat": 2,
        "recall": False,
        "wav_sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
        "duration_s": round(duration, 3),
    }


@needs_espeak
async def test_only_the_newest_wav_files_are_kept_and_numbering_goes_on_after_a_restart(
    voice_dir: Path,
) -> None:
    config = Voice(repeat=1, chime=False, outputs=("wav",))
    async with Announcer(config, directory=voice_dir, keep_files=3) as announcer:
        for n in range(1, 6):
            await announcer.announce("main", f"A{n:03d}", 1)
        await finished(announcer)
    assert [p.name for p in wav_files(voice_dir)] == [
        "main-000003-A003.wav",
        "main-000004-A004.wav",
        "main-000005-A005.wav",
    ]
    async with Announcer(config, directory=voice_dir, keep_files=3) as announcer:
        await announcer.announce("main", "A006", 1)
        await finished(announcer)
    assert [p.name for p in wav_files(voice_dir)][-1] == "main-000006-A006.wav"
    assert len(wav_files(voice_dir)) == 3


@needs_espeak
async def test_without_a_sound_card_the_sound_output_is_skipped_with_one_log_line(
    voice_dir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    no_card = AplaySpeaker(devices=tmp_path / "snd")
    config = Voice(repeat=1, chime=False, outputs=("sound",))
    with caplog.at_level(logging.INFO, logger="devices.voice"):
        async with Announcer(config, directory=voice_dir, speaker=no_card) as announcer:
            await announcer.announce("main", "A001", 1)
            await announcer.announce("main", "A002", 1)
            await finished(announcer)
            stats = announcer.stats()
    assert (stats.sound_skipped, stats.failures, stats.announced) == (2, 0, 2)
    assert caplog.text.count("no sound card") == 1


@needs_espeak
async def test_with_a_sound_card_the_wav_goes_to_aplay(voice_dir: Path, tmp_path: Path) -> None:
    cards = tmp_path / "snd"
    cards.mkdir()
    (cards / "pcmC0D0p").touch()
    heard = tmp_path / "heard.wav"
    aplay = tmp_path / "aplay"
    aplay.write_text(f'#!/bin/sh\n[ "$*" = "-q -t wav -" ] || exit 2\ncat > "{heard}"\n')
    aplay.chmod(aplay.stat().st_mode | stat.S_IXUSR)

    config = Voice(outputs=("wav", "sound"))
    speaker = AplaySpeaker(binary=str(aplay), devices=cards)
    async with Announcer(config, directory=voice_dir, speaker=speaker) as announcer:
        await announcer.announce("main", "A001", 1)
        await finished(announcer)
        assert announcer.stats().failures == 0
    [path] = wav_files(voice_dir)
    assert heard.read_bytes() == path.read_bytes()


@needs_espeak
async def test_a_voice_folder_that_cannot_be_written_costs_the_files_not_the_calls(
    tmp_path: Path, speaker: SimSpeaker, publish: Publish, published: list[tuple[str, dict[str, Any]]]
) -> None:
    in_the_way = tmp_path / "voice"
    in_the_way.write_text("a file where the folder should be")
    config = Voice(outputs=("mqtt", "wav", "sound"))
    async with Announcer(config, directory=in_the_way, publish=publish, speaker=speaker) as announcer:
        await announcer.announce("main", "A001", 1)
        await finished(announcer)
        assert announcer.stats().failures == 1  # the WAV file
    assert [p.number for p in speaker.played] == ["A001"]
    assert published[0][1]["wav_sha256"] is not None


# -- the announcer's contract ------------------------------------------------------------------------------
def test_a_bad_template_stops_the_announcer_at_once(voice_dir: Path) -> None:
    with pytest.raises(ValueError, match=r"\{counter\}"):
        Announcer(Voice(template="请{number}号到{counter}号"), directory=voice_dir)


async def test_announcing_outside_the_context_is_a_clear_error(voice_dir: Path) -> None:
    announcer = Announcer(Voice(), directory=voice_dir)
    with pytest.raises(RuntimeError, match="async with"):
        await announcer.announce("main", "A001", 1)


# -- WAV and chime, pure ---------------------------------------------------------------------------------
def espeak_style(frames: bytes) -> bytes:
    """A WAV as ``espeak-ng --stdout`` streams it: sizes in the header say ~2 GB."""
    header = struct.pack(
        "<4sI4s4sIHHIIHH4sI",
        *(b"RIFF", 0x7FFFF024, b"WAVE"),
        *(b"fmt ", 16, 1, 1, RATE, RATE * 2, 2, 16),
        *(b"data", 0x7FFFF000),
    )
    return header + frames


def test_a_streamed_header_is_read_by_the_bytes_there_are() -> None:
    frames = bytes(range(200)) * 10
    assert parse_wav(espeak_style(frames)) == Pcm(frames)
    assert parse_wav(espeak_style(frames + b"\x01")) == Pcm(frames)  # a torn last sample is dropped


def test_what_we_write_we_read_back() -> None:
    pcm = Pcm(b"\x01\x02" * 1000)
    with wave.open(io.BytesIO(wav_bytes(pcm))) as audio:
        assert (audio.getnchannels(), audio.getsampwidth(), audio.getframerate(), audio.getnframes()) == (
            1,
            2,
            RATE,
            1000,
        )
    assert parse_wav(wav_bytes(pcm)) == pcm


@pytest.mark.parametrize(
    "data",
    [b"", b"not a wav at all", b"RIFF\x04\x00\x00\x00WAVE", espeak_style(b"")[:36]],
    ids=["empty", "text", "no chunks", "no data chunk"],
)
def test_what_is_not_a_wav_is_refused(data: bytes) -> None:
    with pytest.raises(WavError):
        parse_wav(data)


def test_a_stereo_or_8_bit_wav_is_refused() -> None:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(2)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(b"\x00" * 40)
    with pytest.raises(WavError, match="2 ch"):
        parse_wav(buffer.getvalue())


def test_the_chime_is_two_short_tones_that_never_clip() -> None:
    tone = chime()
    assert 0.5 < tone.duration_s < 1.2
    samples = struct.unpack(f"<{len(tone.frames) // 2}h", tone.frames)
    assert max(abs(s) for s in samples) < 32767 * 0.5
    assert samples[0] == 0 and samples[-1] == 0  # starts and ends at rest: no click


def test_assembling_joins_chime_pause_and_repeats_with_pauses() -> None:
    speech = Pcm(b"\x10\x00" * RATE)  # one second
    whole = assemble(speech, repeat=3, with_chime=True)
    expected = chime().duration_s + GAP_AFTER_CHIME_S + 3 * 1.0 + 2 * GAP_BETWEEN_REPEATS_S
    assert whole.duration_s == pytest.approx(expected, abs=1 / RATE)
    assert assemble(speech, repeat=1, with_chime=False) == speech
    with pytest.raises(ValueError, match="repeat"):
        assemble(speech, repeat=0, with_chime=False)


async def test_an_engine_that_is_not_installed_says_so(tmp_path: Path) -> None:
    async with EspeakEngine(binary=str(tmp_path / "espeak-ng")) as engine:
        with pytest.raises(SynthesisError, match="cannot run"):
            await engine.speech("请")


@needs_espeak
async def test_a_voice_espeak_would_silently_replace_is_refused_by_name() -> None:
    async with EspeakEngine(voice="cmn-latn-pinyn") as engine:
        with pytest.raises(SynthesisError, match="no voice 'cmn-latn-pinyn'"):
            await engine.speech("请")
        assert engine.synthesized == 0


@needs_espeak
@pytest.mark.parametrize("voice", ["cmn-latn-pinyin", "sit/cmn-Latn-pinyin", "zh-cmn", "cmn-latn-pinyin+f2"])
async def test_every_way_of_naming_a_voice_is_accepted(voice: str) -> None:
    async with EspeakEngine(voice=voice) as engine:
        assert (await engine.speech("请")).pcm.duration_s > 0
