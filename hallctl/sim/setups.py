"""Other window setups to simulate the same demand under: the old siloed model (分设窗口) before the
comprehensive-teller reform, extra windows for a what-if, and the differences between two runs."""

from __future__ import annotations

import math
from typing import Any

from hallctl.config import HallConfig, Profile, Window, WindowKind
from hallctl.sim.demand import Demand


def _workload(config: HallConfig, demand: Demand, matters: set[str], channels: tuple[str, ...]) -> float:
    """Seconds of service a day that the streams of these matters bring on these channels."""
    total = 0.0
    for stream in demand.streams:
        if stream.channel in channels and stream.matters[0] in matters:
            per_day = sum(stream.rate(h) for h in range(24))
            total += per_day * sum(demand.service[m].mean_seconds for m in stream.matters)
    return total


def apportion(count: int, weights: dict[str, float]) -> dict[str, int]:
    """Split ``count`` windows in proportion to ``weights`` (largest remainder); while there are windows
    enough, every block with work gets at least one — no block of business went without a window."""
    busy = {k: w for k, w in weights.items() if w > 0}
    if not busy or count <= 0:
        return dict.fromkeys(weights, 0)
    total = sum(busy.values())
    quota = {k: count * w / total for k, w in busy.items()}
    least = 1 if count >= len(busy) else 0
    out = {k: max(least, math.floor(q)) for k, q in quota.items()}
    while sum(out.values()) < count:  # the windows left go where the quota is least met
        k = max(busy, key=lambda k: (quota[k] - out[k], k))
        out[k] += 1
    while sum(out.values()) > count:  # the minimum of one overdrew: take from the most over-served
        k = min((k for k in busy if out[k] > least), key=lambda k: (quota[k] - out[k], k))
        out[k] -= 1
    return {k: out.get(k, 0) for k in weights}


def siloed(config: HallConfig, demand: Demand) -> HallConfig:
    """The hall as it was before the reform: each integrated window bound to one block of business (the
    config's ``[[groups]]``), the windows split across blocks in proportion to each block's workload.
    Consultation and dedicated windows stay as they are. A bundle whose matters span blocks finds no
    window (in the old model the citizen queued twice); the run counts it as refused."""
    integrated = [w for w in config.windows if w.kind == "integrated"]
    if not integrated:
        raise ValueError("the hall has no integrated windows to split into blocks")
    source = config.profiles[integrated[0].profile]
    served = {m.code for m in config.matters} if "*" in source.matters else set(source.matters)
    blocks = {
        g.prefix: {m.code for m in config.matters if m.prefix == g.prefix} & served for g in config.groups
    }
    blocks = {p: ms for p, ms in blocks.items() if ms}
    weights = {p: _workload(config, demand, ms, source.channels) for p, ms in blocks.items()}
    shares = apportion(len(integrated), weights)
    profiles = dict(config.profiles)
    assignment: list[str] = []
    for prefix, n in shares.items():
        if n:
            name = f"siloed-{prefix}"
            matters = tuple(m.code for m in config.matters if m.code in blocks[prefix])
            profiles[name] = Profile(
                matters=matters,
                channels=source.channels,
                rules=source.rules,
                description=f"分设窗口：{config.group(prefix).name}",
            )
            assignment += [name] * n
    rebound = iter(assignment)
    windows = tuple(
        w.model_copy(update={"profile": next(rebound), "kind": "dedicated"}) if w.kind == "integrated" else w
        for w in config.windows
    )
    return HallConfig.model_validate({**_fields(config), "profiles": profiles, "windows": windows})


def add_windows(
    config: HallConfig, profile: str, count: int = 1, kind: WindowKind = "integrated"
) -> tuple[HallConfig, list[int]]:
    """The hall with ``count`` more windows of a profile (numbered after the last): for "one more
    integrated window from 10:00", pair it with a window plan staffing the new ids from 10:00."""
    if profile not in config.profiles:
        raise ValueError(f"unknown profile {profile!r}")
    top = max(w.id for w in config.windows)
    ids = range(top + 1, top + 1 + count)
    new = [Window(id=i, kind=kind, profile=profile, name=f"{i}号窗口") for i in ids]
    changed = HallConfig.model_validate({**_fields(config), "windows": (*config.windows, *new)})
    return changed, [w.id for w in new]


def _fields(config: HallConfig) -> dict[str, Any]:
    return {name: getattr(config, name) for name in HallConfig.model_fields}


def same_matters(base: HallConfig, other: HallConfig) -> str | None:
    """Why two halls cannot be compared on the same demand, or None when they can."""
    a, b = set(base.matters_by_code), set(other.matters_by_code)
    if a != b:
        missing, extra = sorted(a - b), sorted(b - a)
        parts = ([f"lacks {', '.join(missing)}"] if missing else []) + (
            [f"adds {', '.join(extra)}"] if extra else []
        )
        return "its matters differ: it " + " and ".join(parts)
    return None


def _delta(a: float | None, b: float | None, digits: int) -> float | None:
    return None if a is None or b is None else round(b - a, digits)


def difference(base: dict[str, Any], other: dict[str, Any]) -> dict[str, Any]:
    """Per matter (and overall): the other setup's figure minus the base's, for mean and p90 wait,
    service level and (overall) utilisation."""
    out: dict[str, Any] = {}
    rows = {"overall": (base["overall"], other["overall"])}
    for key in sorted(set(base["by_matter"]) | set(other["by_matter"])):
        rows[key] = (base["by_matter"].get(key, {}), other["by_matter"].get(key, {}))
    for key, (a, b) in rows.items():
        out[key] = {
            "wait_mean_s": _delta(a.get("wait_mean_s"), b.get("wait_mean_s"), 1),
            "wait_p90_s": _delta(a.get("wait_p90_s"), b.get("wait_p90_s"), 1),
            "service_level": _delta(a.get("service_level"), b.get("service_level"), 4),
        }
    out["overall"]["utilisation"] = _delta(base["utilisation"], other["utilisation"], 4)
    return out
