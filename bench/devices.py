"""Benchmark: from a clerk's call-next over HTTP to the retained window display at an MQTT subscriber.

Starts its own Mosquitto on a free loopback port and ``hallctl serve --mqtt`` (example config, fresh
database), logs a clerk in to window 1, then repeats: issue a ticket (untimed), call-next (the clock
starts before the request), wait until an independent paho subscriber on
``hallctl/{hall}/window/1/display`` receives a payload naming that number, then start and finish.
In the same run it measures the broker's own QoS 1 round trip (publish → the same client receives it)
as the floor, and the voice caller's time from a call to audio ready with a warm cache.

Prints numbers beside the targets (display p99 <= 10 ms on loopback; announcement ready p99 <= 50 ms);
it never fails on a figure.

    .venv/bin/python bench/devices.py [--calls 1000] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

# This file is called devices.py, and Python puts its folder first on the path: put the project first, so
# `import devices` finds the project's package and not this script.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import paho.mqtt.client as mqtt
from _hall import (
    EXAMPLE_CONFIG,
    BenchError,
    Client,
    Daemon,
    bound_run,
    create_token,
    free_port,
    log,
    percentile,
    temp_dir,
    verdict,
)


class Broker:
    def __init__(self, directory: Path) -> None:
        self.port = free_port()
        self.conf = directory / "mosquitto.conf"
        self.conf.write_text(
            f"listener {self.port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
            "max_queued_messages 0\n"
        )
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Broker:
        binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        self.proc = subprocess.Popen(
            [binary, "-c", str(self.conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                return self
            except OSError:
                time.sleep(0.05)
        raise BenchError("mosquitto did not start (apt-get install mosquitto)")

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()


class Listener:
    """A paho subscriber that records (arrival time, topic, payload) of every message."""

    def __init__(self, port: int, topics: list[str]) -> None:
        self.messages: list[tuple[float, str, bytes]] = []
        self.cond = threading.Condition()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
        self.client.on_message = self._on_message
        self.client.on_connect = lambda c, u, f, rc, p=None: [c.subscribe(t, qos=1) for t in topics]
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()

    def _on_message(self, client: mqtt.Client, userdata: object, message: mqtt.MQTTMessage) -> None:
        with self.cond:
            self.messages.append((time.perf_counter(), message.topic, message.payload))
            self.cond.notify_all()

    def wait_for(self, predicate: Any, start: int, timeout: float = 2.0) -> tuple[float, str, bytes] | None:
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for item in self.messages[start:]:
                    if predicate(item):
                        return item
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                self.cond.wait(remaining)

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


def broker_round_trip(port: int, samples: int) -> list[float]:
    listener = Listener(port, ["bench/rtt"])
    time.sleep(0.3)  # let the subscription settle before timing
    out = []
    try:
        for i in range(samples):
            start = len(listener.messages)
            t0 = time.perf_counter()
            listener.client.publish("bench/rtt", str(i).encode(), qos=1)
            got = listener.wait_for(lambda m, i=i: m[2] == str(i).encode(), start)
            if got:
                out.append((got[0] - t0) * 1000)
    finally:
        listener.close()
    return out


def voice_ready(samples: int) -> dict[str, Any]:
    """Call → announcement audio ready with a warm cache, in process (the real espeak-ng caller)."""
    if shutil.which("espeak-ng") is None:
        return {"available": False}
    from devices.voice.announcer import Announcer
    from devices.voice.sim import SimSpeaker
    from hallctl.config_devices import Voice

    async def run(directory: Path) -> dict[str, Any]:
        voice = Voice(outputs=("wav",))
        async with Announcer(voice, directory=directory, speaker=SimSpeaker()) as announcer:
            numbers = [f"A{n:04d}" for n in range(1, 21)]
            for number in numbers:  # warm the cache: the numbers a hall calls again and again
                await announcer.announce("main", number, 3)
            await announcer.join()
            cold = list(announcer.ready_latency)
            announcer.ready_latency.clear()
            for i in range(samples):
                await announcer.announce("main", numbers[i % len(numbers)], 3)
                await announcer.join()
            warm = sorted(x * 1000 for x in announcer.ready_latency)
        cold_ms = sorted(x * 1000 for x in cold)
        return {
            "p50_ms": percentile(warm, 50),
            "p99_ms": percentile(warm, 99),
            "cold_p50_ms": percentile(cold_ms, 50),
            "samples": len(warm),
        }

    with temp_dir(None) as tmp:
        result = asyncio.run(run(tmp))
    result["available"] = True
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--json", action="store_true", help="only JSON on stdout")
    args = parser.parse_args()
    bound_run(240)
    quiet = args.json
    with temp_dir(None) as tmp, Broker(tmp) as broker:
        log("broker round trip (QoS 1) ...", quiet=quiet)
        rtt = broker_round_trip(broker.port, 500)
        db = tmp / "hall.db"
        kiosk = create_token(db, "kiosk")
        clerk = create_token(db, "clerk", "bench-1")
        with Daemon(
            EXAMPLE_CONFIG, db, tmp / "daemon.log", ["--mqtt", f"mqtt://127.0.0.1:{broker.port}"]
        ) as d:
            api = Client(d.port)
            hall = api.ok("GET", "/api/v1/hall", kiosk)["id"]
            api.ok("POST", "/api/v1/windows/1/login", clerk)
            listener = Listener(broker.port, [f"hallctl/{hall}/window/1/display"])
            time.sleep(0.3)
            log(
                f"{args.calls} calls: call-next over HTTP -> retained display at a subscriber ...",
                quiet=quiet,
            )
            latencies: list[float] = []
            misses = 0
            for i in range(args.calls):
                api.ok("POST", "/api/v1/tickets", kiosk, {"matter": "CBDJ"})
                start = len(listener.messages)
                t0 = time.perf_counter()
                called = api.ok("POST", "/api/v1/windows/1/call-next", clerk)["ticket"]
                number = called["number"].encode()
                got = listener.wait_for(lambda m, n=number: n in m[2], start)
                if got is None:
                    misses += 1
                else:
                    latencies.append((got[0] - t0) * 1000)
                api.ok("POST", "/api/v1/windows/1/start", clerk)
                api.ok("POST", "/api/v1/windows/1/finish", clerk)
                if i and i % 250 == 0:
                    log(f"  {i} calls", quiet=quiet)
            listener.close()
            api.close()
    voice = voice_ready(200)
    latencies.sort()
    rtt.sort()
    result = {
        "calls": args.calls,
        "display_ms": {
            "p50": percentile(latencies, 50),
            "p99": percentile(latencies, 99),
            "max": latencies[-1] if latencies else None,
            "samples": len(latencies),
            "missed": misses,
        },
        "broker_rtt_ms": {"p50": percentile(rtt, 50), "p99": percentile(rtt, 99)},
        "voice": voice,
    }
    if args.json:
        print(json.dumps(result))
        return 0
    d50, d99 = result["display_ms"]["p50"], result["display_ms"]["p99"]
    print("hallctl devices benchmark: call-next over HTTP -> retained window display at an MQTT subscriber")
    print(
        f"  call -> display     p50 {d50:6.2f} ms   p99 {d99:6.2f} ms   target p99 <= 10 ms   "
        f"{verdict(d99 <= 10)}   ({len(latencies)} samples, {misses} missed)"
    )
    print(
        f"  broker floor (QoS1) p50 {result['broker_rtt_ms']['p50']:6.2f} ms   "
        f"p99 {result['broker_rtt_ms']['p99']:6.2f} ms   (publish -> same client receives)"
    )
    if voice.get("available"):
        print(
            f"  call -> audio ready p50 {voice['p50_ms']:6.2f} ms   p99 {voice['p99_ms']:6.2f} ms   "
            f"target p99 <= 50 ms   {verdict(voice['p99_ms'] <= 50)}   (warm cache, in process)"
        )
    else:
        print("  call -> audio ready: the voice caller is not available")
    return 0


if __name__ == "__main__":
    sys.exit(main())
