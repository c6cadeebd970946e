"""Wait until a condition over some objects' state holds, woken by those objects when they change.

Drivers, links and simulators each own a ``Watch`` and call ``notify()`` after every change of their
state; callers (tests, the hub) wait on a predicate instead of sleeping and looking again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable


class Watch:
    """A wake-up for whoever waits on this object's state."""

    def __init__(self) -> None:
        self._waiters: set[asyncio.Future[None]] = set()

    def notify(self) -> None:
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_result(None)
        self._waiters.clear()


async def wait_until(predicate: Callable[[], bool], *watches: Watch) -> None:
    """Return once ``predicate()`` is true, looking again whenever one of ``watches`` is notified.

    No timeout of its own: wrap it in ``asyncio.timeout``.
    """
    loop = asyncio.get_running_loop()
    while not predicate():
        waiter: asyncio.Future[None] = loop.create_future()
        for watch in watches:
            watch._waiters.add(waiter)
        try:
            await waiter
        finally:
            for watch in watches:
                watch._waiters.discard(waiter)
