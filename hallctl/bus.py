"""The in-process event bus: committed changes go out to subscribers (devices, live pages, metrics).

Publishing never waits. Each subscriber has its own bounded queue; one that falls behind loses the
oldest events and is told so (``overflowed``) so it can fetch a fresh snapshot, while the queue and every
other subscriber carry on.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Iterable

from hallctl.core.model import Event

# Enough for a burst of a whole busy minute (kiosks and 40 windows); a subscriber further behind than this
# is better served by a fresh snapshot than by replaying stale calls.
DEFAULT_QUEUE = 2048


class Subscription:
    def __init__(self, bus: EventBus, maxlen: int) -> None:
        self._bus = bus
        self._events: deque[Event] = deque(maxlen=maxlen)
        self._ready = asyncio.Event()
        self.overflowed = False  # set when events were dropped; the reader clears it after resyncing
        self.dropped = 0

    def put(self, event: Event) -> None:
        if len(self._events) == self._events.maxlen:
            self.overflowed = True
            self.dropped += 1
        self._events.append(event)
        self._ready.set()

    async def get(self) -> Event:
        while not self._events:
            self._ready.clear()
            await self._ready.wait()
        return self._events.popleft()

    def pending(self) -> int:
        return len(self._events)

    def close(self) -> None:
        self._bus.unsubscribe(self)

    def __aiter__(self) -> AsyncIterator[Event]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[Event]:
        while True:
            yield await self.get()


class EventBus:
    def __init__(self) -> None:
        self._subscriptions: set[Subscription] = set()
        self.published = 0

    def subscribe(self, maxlen: int = DEFAULT_QUEUE) -> Subscription:
        sub = Subscription(self, maxlen)
        self._subscriptions.add(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        self._subscriptions.discard(sub)

    def publish(self, events: Iterable[Event]) -> None:
        for event in events:
            self.published += 1
            for sub in self._subscriptions:
                sub.put(event)

    @property
    def subscribers(self) -> int:
        return len(self._subscriptions)
