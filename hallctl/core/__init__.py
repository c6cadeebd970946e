"""The pure core: tickets, queues, windows, routing and figures. No I/O, no asyncio, time passed in."""
