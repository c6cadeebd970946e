"""How far forecasts missed the waits that happened: MAE, bias and MAE as % of the mean wait, per matter
and overall, for each predictor side by side. No-shows have no actual wait and are not scored."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from hallctl.history.replay import Prediction

OVERALL = "overall"
LABELS = {
    "forecast": "forecast",
    "people_ahead": "people ahead",
    "head_of_line": "head of line",
    "last_to_enter": "last to enter",
}


@dataclass(frozen=True, slots=True)
class Score:
    mae: float  # mean absolute error, seconds
    bias: float  # mean of predicted - actual, seconds (positive: waits announced too long)
    mae_pct: float | None  # MAE as % of the mean actual wait (None when nobody waited at all)


@dataclass(frozen=True, slots=True)
class Figures:
    group: str  # a matter (bundles as "A+B") or "overall"
    n: int  # served tickets scored
    mean_wait: float
    scores: dict[str, Score]

    def as_json(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "mean_wait_s": round(self.mean_wait, 1),
            "predictors": {
                name: {
                    "mae_s": round(s.mae, 1),
                    "bias_s": round(s.bias, 1),
                    "mae_pct": None if s.mae_pct is None else round(s.mae_pct, 1),
                }
                for name, s in self.scores.items()
            },
        }


def _figures(group: str, predictions: Sequence[Prediction], predictors: Sequence[str]) -> Figures:
    actual = [p.actual for p in predictions if p.actual is not None]
    scored = [p for p in predictions if p.actual is not None]
    n = len(scored)
    mean_wait = sum(actual) / n if n else 0.0
    scores = {}
    for name in predictors:
        errors = [p.predicted[name] - (p.actual or 0.0) for p in scored]
        mae = sum(abs(e) for e in errors) / n if n else 0.0
        bias = sum(errors) / n if n else 0.0
        scores[name] = Score(mae, bias, 100.0 * mae / mean_wait if mean_wait > 0 else None)
    return Figures(group, n, mean_wait, scores)


def accuracy(
    predictions: Iterable[Prediction], predictors: Sequence[str], *, by: str = "matter"
) -> list[Figures]:
    """Figures per matter (or per ``by="channel"``), sorted by name, then overall."""
    everything = list(predictions)
    groups: dict[str, list[Prediction]] = {}
    for p in everything:
        groups.setdefault(p.channel if by == "channel" else p.matter, []).append(p)
    out = [_figures(g, groups[g], predictors) for g in sorted(groups)]
    out.append(_figures(OVERALL, everything, predictors))
    return out


def improvement(figures: Figures, better: str, than: str) -> float | None:
    """How much smaller ``better``'s MAE is than ``than``'s, in % of the latter."""
    base = figures.scores[than].mae
    return None if base == 0 else 100.0 * (base - figures.scores[better].mae) / base


def render_table(figures: Sequence[Figures], predictors: Sequence[str]) -> str:
    """A fixed-width table: per group the count and mean wait, then MAE, bias and MAE % per predictor."""
    group_width = max([len("matter"), *(len(f.group) for f in figures)])
    cell = 21  # "  MAE s  bias s   %" per predictor
    head1 = " " * (group_width + 15) + "".join(f"{LABELS.get(p, p):>{cell}}" for p in predictors)
    head2 = f"{'matter':<{group_width}} {'n':>6} {'wait s':>7}" + "".join(
        f"{'MAE s':>8}{'bias s':>8}{'%':>5}" for _ in predictors
    )
    lines = [head1, head2]
    for f in figures:
        row = f"{f.group:<{group_width}} {f.n:>6} {f.mean_wait:>7.0f}"
        for name in predictors:
            s = f.scores[name]
            pct = "-" if s.mae_pct is None else f"{s.mae_pct:.0f}"
            row += f"{s.mae:>8.0f}{s.bias:>+8.0f}{pct:>5}"
        lines.append(row)
    return "\n".join(lines)
