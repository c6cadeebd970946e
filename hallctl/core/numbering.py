"""Ticket numbers: prefix + zero-padded sequence per prefix per business day (A001…A999)."""

from __future__ import annotations


def format_number(prefix: str, seq: int, digits: int) -> str:
    return f"{prefix}{seq:0{digits}d}"


def capacity(digits: int) -> int:
    """The last sequence a prefix can reach in a day; 0 is never issued."""
    return int(10**digits) - 1
