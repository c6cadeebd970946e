"""Log-linear histograms of durations: mergeable by adding counts, percentiles within a known error.

A duration ``v`` (seconds) falls in bin 0 when ``v < 1``; otherwise in octave ``o = floor(log2 v)``,
split into ``SUB_BINS`` equal parts, so a bin ``[lo, hi)`` is ``2**o / SUB_BINS`` wide and never wider
than ``lo / SUB_BINS``. A percentile read from a histogram is the midpoint of the bin holding the
nearest-rank value, so it is off by at most half a bin: ``max(0.5 s, v / (2 * SUB_BINS))`` where ``v``
is the true value — 1/64 (1.6 %) with 32 sub-bins (docs/stats.md).
"""

from __future__ import annotations

import math
import sys
import zlib
from array import array
from collections.abc import Sequence

# Sub-bins per octave: the relative error is 1 / (2 * SUB_BINS). 32 keeps it under 2 % while a day's
# histogram of waits up to two hours stays near 400 bins; 64 would double the bytes for 0.8 %.
SUB_BINS = 32
# Durations beyond 2**24 s (194 days) share the last bin: no wait or service in a hall is that long.
MAX_OCTAVE = 24
BIN_COUNT = 1 + MAX_OCTAVE * SUB_BINS
RELATIVE_ERROR = 1 / (2 * SUB_BINS)
ABSOLUTE_ERROR_BELOW_1S = 0.5

_TYPECODE = "I"
assert array(_TYPECODE).itemsize == 4, "histograms are stored as 32-bit counts"


def bin_of(seconds: float) -> int:
    if seconds < 1.0:
        return 0
    mantissa, exponent = math.frexp(seconds)  # seconds = mantissa * 2**exponent, 0.5 <= mantissa < 1
    octave = exponent - 1
    if octave >= MAX_OCTAVE:
        return BIN_COUNT - 1
    return 1 + octave * SUB_BINS + int((2 * mantissa - 1) * SUB_BINS)


def bin_bounds(index: int) -> tuple[float, float]:
    """The half-open range ``[lo, hi)`` of seconds a bin holds."""
    if index == 0:
        return 0.0, 1.0
    octave, sub = divmod(index - 1, SUB_BINS)
    base = 2.0**octave
    return base * (1 + sub / SUB_BINS), base * (1 + (sub + 1) / SUB_BINS)


def add(bins: list[int], seconds: float) -> None:
    index = bin_of(seconds)
    if index >= len(bins):
        bins.extend([0] * (index + 1 - len(bins)))
    bins[index] += 1


# Merging many stored histograms is the cost of a long period's figures. Each is read as one integer with
# a 32-bit field per bin, so adding two histograms is one big-integer addition (a microsecond for 400
# bins) instead of a loop over the bins. A field cannot carry into the next: no bin reaches 2**32.
def pack(bins: Sequence[int]) -> int:
    packed = array(_TYPECODE, bins)
    if sys.byteorder == "big":
        packed.byteswap()
    return int.from_bytes(packed.tobytes(), "little")


def unpack(packed: int) -> list[int]:
    size = (packed.bit_length() + 31) // 32 * 4
    values = array(_TYPECODE)
    values.frombytes(packed.to_bytes(size, "little"))
    if sys.byteorder == "big":
        values.byteswap()
    return values.tolist()


def packed_from(blob: bytes | None) -> int:
    """The packed integer of stored bytes (see :func:`encode`), without a list in between."""
    return int.from_bytes(zlib.decompress(blob), "little") if blob else 0


def nearest_rank(count: int, p: float) -> int:
    """The 1-based rank of the p-th percentile among ``count`` sorted values (as core.stats computes it)."""
    return max(1, min(count, round(p / 100 * count + 0.5)))


def percentile(bins: Sequence[int], p: float, maximum: float | None) -> float | None:
    """The p-th percentile estimated from the histogram: the midpoint of the bin holding the
    nearest-rank value, never above the known maximum."""
    count = sum(bins)
    if count == 0:
        return None
    rank = nearest_rank(count, p)
    seen = 0
    for index, n in enumerate(bins):
        seen += n
        if seen >= rank:
            lo, hi = bin_bounds(index)
            estimate = (lo + hi) / 2
            if maximum is not None:
                estimate = min(estimate, maximum)
            return round(estimate, 1)
    raise AssertionError("unreachable: the rank is at most the count")


def encode(bins: Sequence[int]) -> bytes:
    """Compact bytes for the store: 32-bit little-endian counts, trailing zeros dropped, deflated."""
    end = len(bins)
    while end and not bins[end - 1]:
        end -= 1
    packed = array(_TYPECODE, bins[:end])
    if sys.byteorder == "big":
        packed.byteswap()
    return zlib.compress(packed.tobytes(), 1)


def decode(blob: bytes | None) -> list[int]:
    if not blob:
        return []
    packed = array(_TYPECODE)
    packed.frombytes(zlib.decompress(blob))
    if sys.byteorder == "big":
        packed.byteswap()
    return packed.tolist()
