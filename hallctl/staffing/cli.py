"""``hallctl staffing``: Erlang C figures for one period, or a day's plan hour by hour from history."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from hallctl.config import ConfigError, HallConfig, load_config
from hallctl.core.erlang import ErlangC, erlang_c, windows_needed
from hallctl.sim.demand import Demand, DemandError, load_profile
from hallctl.staffing.check import Simulated, check, demand_from_profile
from hallctl.staffing.demand import (
    HISTORY_SQL,
    helpers_by_pool,
    hourly_demand,
    past_from_rows,
    windows_by_kind,
)
from hallctl.staffing.plan import HourAdvice, HourDemand, advise
from hallctl.staffing.whatif import learned_demand

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _figures(r: ErlangC, target_seconds: float) -> dict[str, Any]:
    return {
        "arrivals_per_hour": r.arrivals_per_hour,
        "service_seconds": r.service_seconds,
        "windows": r.windows,
        "target_seconds": target_seconds,
        "offered_load": round(r.offered_load, 4),
        "occupancy": round(r.occupancy, 4),
        "p_wait": round(r.p_wait, 4),
        "service_level": round(r.service_level(target_seconds), 4),
        "average_wait_seconds": round(r.asa_seconds, 2) if r.stable else None,  # ASA, over all arrivals
    }


def _print_figures(title: str, f: dict[str, Any]) -> None:
    asa = (
        "overloaded (排队无限增长)"
        if f["average_wait_seconds"] is None
        else f"{f['average_wait_seconds']:.2f} s"
    )
    click.echo(
        f"{title}: {f['windows']} windows, load {f['offered_load']:.2f} erlangs, "
        f"occupancy {f['occupancy']:.1%}"
    )
    click.echo(
        f"  P(wait) {f['p_wait']:.4f}   "
        f"service level within {f['target_seconds']:g} s {f['service_level']:.4f}"
    )
    click.echo(f"  average wait (ASA) {asa}")


def _one_period(
    arrivals: float,
    service: float,
    windows: int | None,
    target: float,
    level: float | None,
    max_occ: float,
    as_json: bool,
) -> None:
    try:
        out: dict[str, Any] = {}
        if windows is not None:
            out = _figures(erlang_c(arrivals, service, windows), target)
        if level is not None or windows is None:
            best = windows_needed(
                arrivals, service, target_seconds=target, service_level=level or 0.8, max_occupancy=max_occ
            )
            out["recommended"] = {**_figures(best, target), "for_service_level": level or 0.8}
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    if as_json:
        click.echo(json.dumps(out, ensure_ascii=False))
        return
    if windows is not None:
        _print_figures("Erlang C", out)
    if "recommended" in out:
        rec = out["recommended"]
        _print_figures(f"Recommended for {rec['for_service_level']:.0%} within {target:g} s", rec)


@dataclass(frozen=True, slots=True)
class PlanRequest:
    config_path: Path
    db_path: Path | None  # learn the demand from the served tickets …
    arrivals: Path | None  # … or take it from a forecast (an arrival profile, docs/simulator.md)
    first: dt.date | None
    last: dt.date | None
    weekday: str | None
    level: float
    max_occupancy: float
    check_days: int  # 0: no simulator check
    seed: int


def _learned(req: PlanRequest, config: HallConfig) -> tuple[list[HourDemand], Demand | None, dict[str, Any]]:
    """Erlang's demand per pool and hour, and the simulator's, from the database."""
    assert req.db_path is not None
    last_day = req.last or dt.date.today()
    first_day = req.first or last_day - dt.timedelta(days=27)
    if first_day > last_day:
        raise click.ClickException("--from: after --to")
    span = (first_day.isoformat(), last_day.isoformat())
    db = sqlite3.connect(f"file:{req.db_path}?mode=ro", uri=True)
    try:
        past = past_from_rows(db.execute(HISTORY_SQL, span))
    except sqlite3.DatabaseError as exc:
        raise click.ClickException(f"{req.db_path}: not a hallctl database ({exc})") from None
    finally:
        db.close()
    weekday = WEEKDAYS.index(req.weekday) if req.weekday else None
    demand, days = hourly_demand(config, past, weekday=weekday)
    if not demand:
        raise click.ClickException(f"no served tickets between {first_day} and {last_day} to learn from")
    simulated = learned_demand(config, past, weekday=weekday) if req.check_days else None
    basis = {"from": span[0], "to": span[1], "days": days, "weekday": req.weekday}
    return demand, simulated, basis


def _day_plan(req: PlanRequest, as_json: bool) -> None:
    simulated: Demand | None
    try:
        config = load_config(req.config_path)
        if req.arrivals is not None:
            forecast = load_profile(req.arrivals, config)
            demand, simulated = demand_from_profile(config, forecast), forecast
            basis: dict[str, Any] = {"arrivals": str(req.arrivals)}
        else:
            demand, simulated, basis = _learned(req, config)
    except (ConfigError, DemandError) as exc:
        raise click.ClickException(str(exc)) from None
    plan = advise(
        demand, service_level=req.level, staffed=windows_by_kind(config), max_occupancy=req.max_occupancy
    )
    helping = helpers_by_pool(config, ((w.kind, config.profiles[w.profile]) for w in config.windows))
    checked = {}
    if req.check_days and simulated is not None:
        weekday = WEEKDAYS.index(req.weekday) if req.weekday else None
        checked = check(config, simulated, plan, days=req.check_days, seed=req.seed, weekday=weekday)
    if as_json:
        hours = []
        for a in plan:
            row = a.as_dict()
            if req.check_days:
                sim = checked.get((a.demand.pool, a.demand.hour))
                row["simulated"] = (
                    None
                    if sim is None
                    else {
                        "tickets": sim.tickets,
                        "service_level": sim.service_level,
                        "mean_wait_seconds": sim.mean_wait_seconds,
                    }
                )
            hours.append(row)
        out = {
            **basis,
            "service_level": req.level,
            "check_days": req.check_days,
            "helping": {pool: n for pool, n in helping.items() if n},
            "hours": hours,
        }
        click.echo(json.dumps(out, ensure_ascii=False))
        return
    source = basis.get("arrivals") or f"{basis['days']} day(s), {basis['from']} – {basis['to']}"
    click.echo(f"Staffing plan from {source}, for {req.level:.0%} within each target")
    _print_plan(plan, checked if req.check_days else None)
    for pool, n in sorted(helping.items()):
        if n:
            click.echo(f"{pool}: {n} window(s) of another kind also take this work (not counted in 'have')")


def _print_plan(plan: list[HourAdvice], checked: dict[tuple[str, int], Simulated] | None) -> None:
    head = (
        f"{'pool':<13}{'hour':>5}{'arrivals/h':>11}{'service s':>10}{'target s':>9}"
        f"{'advise':>7}{'SL':>6}{'have':>6}{'SL now':>8}"
    )
    click.echo(head + (f"{'SL simulated':>14}" if checked is not None else ""))
    for a in plan:
        d = a.demand
        have = a.staffed.windows if a.staffed else 0
        sl_now = f"{a.staffed.service_level(d.target_seconds):.0%}" if a.staffed else "-"
        line = (
            f"{d.pool:<13}{d.hour:>5}{d.arrivals_per_hour:>11.1f}{d.service_seconds:>10.0f}"
            f"{d.target_seconds:>9.0f}{a.windows:>7}{a.recommended.service_level(d.target_seconds):>6.0%}"
            f"{have:>6}{sl_now:>8}"
        )
        if checked is not None:
            sim = checked.get((d.pool, d.hour))
            line += f"{sim.service_level:>14.0%}" if sim and sim.service_level is not None else f"{'-':>14}"
        click.echo(line)


@click.command()
@click.option("--arrivals-per-hour", type=float, help="One period: arrivals an hour.")
@click.option("--service-seconds", type=float, help="One period: mean window time per ticket.")
@click.option(
    "--windows", type=click.IntRange(min=1), help="One period: the windows open (figures for them)."
)
@click.option("--target-seconds", type=click.FloatRange(min=0), default=20.0, show_default=True)
@click.option(
    "--service-level",
    type=click.FloatRange(min=0, max=1, min_open=True, max_open=True),
    help="Recommend the fewest windows that call this share within the target (a plan defaults to 0.8).",
)
@click.option(
    "--max-occupancy", type=click.FloatRange(min=0, max=1, min_open=True), default=1.0, show_default=True
)
@click.option("--config", "config_path", type=click.Path(path_type=Path, exists=True, dir_okay=False))
@click.option("--db", "db_path", type=click.Path(path_type=Path, exists=True, dir_okay=False))
@click.option(
    "--from", "first", type=click.DateTime(["%Y-%m-%d"]), help="A plan: the first day to learn from."
)
@click.option("--to", "last", type=click.DateTime(["%Y-%m-%d"]), help="A plan: the last day (default today).")
@click.option("--weekday", type=click.Choice(WEEKDAYS), help="A plan: learn from this day of the week only.")
@click.option(
    "--arrivals",
    type=click.Path(path_type=Path, exists=True, dir_okay=False),
    help="A plan from a forecast: an arrival profile (docs/simulator.md) instead of --db.",
)
@click.option(
    "--check",
    "check_days",
    type=click.IntRange(min=0, max=366),
    default=0,
    help="A plan: simulate this many days staffed as advised and show the service level each hour gets.",
)
@click.option("--seed", type=int, default=1, show_default=True, help="The simulator's seed for --check.")
@click.option("--json", "as_json", is_flag=True, help="Print only JSON.")
def staffing(
    arrivals_per_hour: float | None,
    service_seconds: float | None,
    windows: int | None,
    target_seconds: float,
    service_level: float | None,
    max_occupancy: float,
    config_path: Path | None,
    db_path: Path | None,
    first: dt.datetime | None,
    last: dt.datetime | None,
    weekday: str | None,
    arrivals: Path | None,
    check_days: int,
    seed: int,
    as_json: bool,
) -> None:
    """Staffing advice (人员配置建议) by Erlang C.

    One period: --arrivals-per-hour and --service-seconds, with --windows for its figures and/or
    --service-level for the recommended count. A day's plan, hour by hour: --config and --db (learns the
    demand of each pool of windows from the served tickets, the last 28 days by default).
    """
    if config_path or db_path or arrivals:
        if not config_path or not (db_path or arrivals) or (db_path and arrivals):
            raise click.UsageError("a plan needs --config and one of --db or --arrivals")
        if arrivals_per_hour is not None or service_seconds is not None or windows is not None:
            raise click.UsageError(
                "give either one period (--arrivals-per-hour …) or a plan (--config, --db)"
            )
        request = PlanRequest(
            config_path=config_path,
            db_path=db_path,
            arrivals=arrivals,
            first=first.date() if first else None,
            last=last.date() if last else None,
            weekday=weekday,
            level=service_level or 0.8,
            max_occupancy=max_occupancy,
            check_days=check_days,
            seed=seed,
        )
        _day_plan(request, as_json)
        return
    if arrivals_per_hour is None or service_seconds is None:
        raise click.UsageError(
            "give --arrivals-per-hour and --service-seconds, or --config and --db for a plan"
        )
    _one_period(
        arrivals_per_hour, service_seconds, windows, target_seconds, service_level, max_occupancy, as_json
    )
