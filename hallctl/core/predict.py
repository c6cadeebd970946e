"""Expected waits (预计等候时间) by forward simulation of the hall from its live state (docs/prediction.md).

Several sampled runs share their random numbers from one recomputation to the next; each ticket gets
the median of its runs (the median minimises the mean absolute error) and a p10–p90 range. With thin
history or a huge queue one deterministic run on the fitted means stands in.
"""

from __future__ import annotations

from dataclasses import dataclass

from hallctl.core.eta import people_ahead_estimate, serving_windows
from hallctl.core.forward import Draws, ForwardRun
from hallctl.core.servicetimes import WaitModel
from hallctl.core.state import HallState

# Sampled runs per prediction: the median of 15 is within a few percent of the median of 1000 for these
# waits, and each run costs one pass over the queue. More runs steady the p10/p90 range, at linear cost.
RUNS = 15
# Beyond this many waiting tickets, one deterministic run: sampling would cost seconds and the law of
# large numbers makes the runs agree anyway.
HUGE_QUEUE = 1500


@dataclass(frozen=True, slots=True)
class WaitRange:
    """Seconds until the first call: the median and the 10th and 90th percentiles of the runs."""

    low: float
    median: float
    high: float


def predict_waits(state: HallState, now: float, model: WaitModel, *, seed: int = 0) -> dict[int, float]:
    """Seconds from `now` until each ticket now in a queued state (model.QUEUED) is first called."""
    return {tid: r.median for tid, r in predict_ranges(state, now, model, seed=seed).items()}


def predict_ranges(
    state: HallState, now: float, model: WaitModel, *, seed: int = 0, runs: int = RUNS
) -> dict[int, WaitRange]:
    """Like :func:`predict_waits`, with the p10–p90 range of the sampled runs."""
    forward = ForwardRun(state, now, model)
    targets = forward.targets
    if not targets:
        return {}
    if runs <= 1 or model.thin or len(targets) > HUGE_QUEUE:
        waits = _complete(state, now, model, targets, forward.run(None))
        return {tid: WaitRange(w, w, w) for tid, w in waits.items()}
    samples: dict[int, list[float]] = {tid: [] for tid in targets}
    for run in range(runs):
        for tid, wait in _complete(state, now, model, targets, forward.run(Draws(seed, run))).items():
            samples[tid].append(wait)
    out: dict[int, WaitRange] = {}
    for tid, values in samples.items():
        values.sort()
        out[tid] = WaitRange(_quantile(values, 0.1), _quantile(values, 0.5), _quantile(values, 0.9))
    return out


def _complete(
    state: HallState,
    now: float,
    model: WaitModel,
    targets: list[int],
    result: tuple[dict[int, float], float],
) -> dict[int, float]:
    """Fill in tickets a run never called: no window serving now takes them, or they lie beyond the
    horizon (a huge queue). Each queue is extended from its last ticket called in the run (else from the
    longer of the run's length and the simple estimate), one share of its pool's windows per place: O(1)
    a ticket, so a queue of thousands costs milliseconds, and the order within a queue is kept."""
    waits, ended = result
    if len(waits) == len(targets):
        return waits
    for key, bucket in state.queues.buckets():
        last: float | None = None
        step = 0.0
        for _, tid in bucket:
            known = waits.get(tid)
            if known is not None:
                last = known
                continue
            if last is None or not step:
                pool = state.pool(key)
                step = model.service(key[0]).mean / serving_windows(state, pool)
            if last is None:
                estimate = people_ahead_estimate(state, now, model, state.tickets[tid])
                last = max(ended - now, estimate)
            else:
                last = max(last, ended - now) + step
            waits[tid] = last
    return waits


def _quantile(values: list[float], q: float) -> float:
    """Linear interpolation between order statistics of sorted ``values``."""
    pos = q * (len(values) - 1)
    lo = int(pos)
    hi = min(lo + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (pos - lo)
