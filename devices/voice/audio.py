"""WAV in and out, the chime, and joining chime + speech into one announcement. Pure: bytes in, bytes out.

Everything is mono 16-bit PCM at espeak-ng's rate (22,050 Hz), written with the stdlib ``wave`` module.
"""

from __future__ import annotations

import hashlib
import io
import math
import struct
import sys
import wave
from array import array
from dataclasses import dataclass
from functools import lru_cache

RATE = 22_050  # espeak-ng's output rate; the chime and silences are made at the speech's own rate
SAMPLE_WIDTH = 2  # bytes: 16-bit signed
CHANNELS = 1

# Silence after the chime and between repeats, on top of the ~0.4 s of silence espeak-ng ends each
# sentence with. A pause under ~0.5 s in all and the repeat runs into the first saying, so it sounds like
# one long sentence; over ~1.5 s and people think it ended and stop listening before the repeat.
GAP_AFTER_CHIME_S = 0.25
GAP_BETWEEN_REPEATS_S = 0.5

# The chime: a "ding-dong" (叮咚) of two bell-like tones, E5 then C5, each struck and left to decay.
# Under ~0.2 s a tone is a click rather than a note; much over 1 s in total delays every call.
CHIME_TONES: tuple[tuple[float, float], ...] = ((659.25, 0.32), (523.25, 0.55))  # (Hz, seconds)
# Peak, of full scale. espeak-ng's speech peaks at full scale but averages ~-17.5 dB RMS; at 0.45
# (-7 dB) the chime sounds about as loud as the voice. Much higher startles; much lower is missed in a
# noisy hall.
CHIME_LEVEL = 0.45
# Ramps at each end of a note: a note that starts or stops at full level clicks. Too long and the strike
# loses its "ding".
_ATTACK_S = 0.006
_RELEASE_S = 0.03
_DECAY_PER_S = 4.0  # e^(-4t): the note has faded to ~1/4 by its end, the way a struck bell does


class WavError(ValueError):
    """Bytes that are not the mono 16-bit PCM WAV this module works with."""


@dataclass(frozen=True, slots=True)
class Pcm:
    """Raw little-endian 16-bit mono samples and their rate."""

    frames: bytes
    rate: int = RATE

    @property
    def duration_s(self) -> float:
        return len(self.frames) / (self.rate * SAMPLE_WIDTH * CHANNELS)


def parse_wav(data: bytes) -> Pcm:
    """The samples of a mono 16-bit PCM WAV.

    Reads the chunks by hand rather than trusting ``wave``'s frame count: ``espeak-ng --stdout`` streams,
    so its header claims a data size of ~2 GB (0x7FFFF000) whatever the length. The data chunk is taken
    to end at the declared size or at the end of the bytes, whichever comes first.
    """
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise WavError(f"not a RIFF/WAVE file ({len(data)} bytes, starts {data[:12]!r})")
    pos, rate = 12, None
    while pos + 8 <= len(data):
        chunk_id, size = data[pos : pos + 4], struct.unpack_from("<I", data, pos + 4)[0]
        body = pos + 8
        if chunk_id == b"fmt ":
            if size < 16:
                raise WavError(f"fmt chunk of {size} bytes")
            audio_format, channels, rate, _byte_rate, _align, bits = struct.unpack_from("<HHIIHH", data, body)
            if (audio_format, channels, bits) != (1, CHANNELS, SAMPLE_WIDTH * 8):
                raise WavError(f"want mono 16-bit PCM; got format {audio_format}, {channels} ch, {bits} bit")
        elif chunk_id == b"data":
            if rate is None:
                raise WavError("data chunk before the fmt chunk")
            end = min(body + size, len(data))
            end -= (end - body) % SAMPLE_WIDTH  # a torn last sample from a killed process
            return Pcm(data[body:end], rate)
        pos = body + size + (size & 1)  # chunks are padded to an even length
    raise WavError("no data chunk")


def wav_bytes(pcm: Pcm) -> bytes:
    """A WAV file of ``pcm`` with a correct header (unlike espeak's streamed one)."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(CHANNELS)
        out.setsampwidth(SAMPLE_WIDTH)
        out.setframerate(pcm.rate)
        out.writeframes(pcm.frames)
    return buffer.getvalue()


def silence(seconds: float, rate: int = RATE) -> Pcm:
    return Pcm(bytes(round(seconds * rate) * SAMPLE_WIDTH), rate)


@lru_cache(maxsize=4)
def chime(rate: int = RATE) -> Pcm:
    """The two-tone chime, made once per rate (~12 ms of Python for 0.9 s of samples)."""
    samples = array("h")
    peak = CHIME_LEVEL * 32767
    for frequency, seconds in CHIME_TONES:
        count = round(seconds * rate)
        attack = max(1, round(_ATTACK_S * rate))
        release = max(1, round(_RELEASE_S * rate))
        step = 2 * math.pi * frequency / rate
        for i in range(count):
            ramp = min(1.0, i / attack, (count - 1 - i) / release)
            envelope = ramp * math.exp(-_DECAY_PER_S * i / rate)
            # A little of the octave above gives the tone a bell's colour instead of a test beep's.
            wave_value = math.sin(step * i) + 0.25 * math.sin(2 * step * i)
            samples.append(round(peak * envelope * wave_value / 1.25))
    if sys.byteorder == "big":
        samples.byteswap()  # WAV samples are little-endian
    return Pcm(samples.tobytes(), rate)


def assemble(speech: Pcm, *, repeat: int, with_chime: bool) -> Pcm:
    """The whole announcement: [chime, pause,] speech, then (pause, speech) for each further repeat."""
    if repeat < 1:
        raise ValueError(f"repeat must be at least 1, not {repeat}")
    parts: list[Pcm] = []
    if with_chime:
        parts += [chime(speech.rate), silence(GAP_AFTER_CHIME_S, speech.rate)]
    gap = silence(GAP_BETWEEN_REPEATS_S, speech.rate)
    for i in range(repeat):
        if i:
            parts.append(gap)
        parts.append(speech)
    return Pcm(b"".join(p.frames for p in parts), speech.rate)


@dataclass(frozen=True, slots=True)
class Rendered:
    """A finished announcement: the WAV file's bytes and what the MQTT payload says about them."""

    wav: bytes
    sha256: str
    duration_s: float


def render(speech: Pcm, *, repeat: int, with_chime: bool) -> Rendered:
    pcm = assemble(speech, repeat=repeat, with_chime=with_chime)
    wav = wav_bytes(pcm)
    return Rendered(wav, hashlib.sha256(wav).hexdigest(), pcm.duration_s)
