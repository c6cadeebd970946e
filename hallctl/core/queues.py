"""The waiting tickets, indexed so that routing looks at a few bucket heads rather than every ticket.

A bucket holds the queued tickets that share matters, channel and target window: every ticket in a bucket
is eligible at exactly the same windows, so a window only needs each bucket's oldest ticket. A busy day
leaves thousands waiting; this keeps call-next independent of that number.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections import Counter
from collections.abc import Iterator

from hallctl.core.model import Ticket

BucketKey = tuple[tuple[str, ...], str, int]  # (matters, channel, target window or 0)
Entry = tuple[float, int]  # (queue_key, ticket id): the queue order, ties broken by issue order


def bucket_key(ticket: Ticket) -> BucketKey:
    return (ticket.matters, ticket.channel, ticket.target_window or 0)


def entry(ticket: Ticket) -> Entry:
    return (ticket.queue_key, ticket.id)


class Queues:
    def __init__(self) -> None:
        self._buckets: dict[BucketKey, list[Entry]] = {}
        self._where: dict[int, tuple[BucketKey, Entry, str]] = {}
        # Waiting counts kept as tickets come and go: the hall board and live pages read them on every
        # change, and counting thousands of waiting tickets each time stalled the loop for milliseconds.
        self.by_matter: Counter[str] = Counter()
        self.by_prefix: Counter[str] = Counter()

    def add(self, ticket: Ticket) -> None:
        if ticket.id in self._where:
            self.remove(ticket.id)
        key, item = bucket_key(ticket), entry(ticket)
        bucket = self._buckets.setdefault(key, [])
        if not bucket or bucket[-1] < item:
            bucket.append(item)  # the common case: a new ticket goes to the back
        else:
            insort(bucket, item)
        self._where[ticket.id] = (key, item, ticket.prefix)
        self.by_prefix[ticket.prefix] += 1
        for matter in ticket.matters:
            self.by_matter[matter] += 1

    def remove(self, ticket_id: int) -> None:
        key, item, prefix = self._where.pop(ticket_id)
        self.by_prefix[prefix] -= 1
        for matter in key[0]:
            self.by_matter[matter] -= 1
        bucket = self._buckets[key]
        del bucket[bisect_left(bucket, item)]
        if not bucket:
            del self._buckets[key]

    def __contains__(self, ticket_id: object) -> bool:
        return ticket_id in self._where

    def __len__(self) -> int:
        return len(self._where)

    def buckets(self) -> Iterator[tuple[BucketKey, list[Entry]]]:
        return iter(self._buckets.items())

    def ids(self) -> Iterator[int]:
        return iter(self._where)

    @staticmethod
    def before(bucket: list[Entry], item: Entry) -> int:
        """How many entries of a bucket stand before ``item`` in queue order."""
        return bisect_left(bucket, item)
