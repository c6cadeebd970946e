"""``hallctl staffing``: Erlang C figures for one period, or a day's plan hour by hour from history."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from pathlib import Path
from typing import Any

import click

from hallctl.config import ConfigError, load_config
from hallctl.core.erlang import ErlangC, erlang_c, windows_needed
from hallctl.staffing.demand import SERVED_SQL, hourly_demand, served_from_rows, windows_by_kind
from hallctl.staffing.plan import HourAdvice, advise

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


def _day_plan(
    config_path: Path,
    db_path: Path,
    first: dt.date | None,
    last: dt.date | None,
    weekday: str | None,
    level: float,
    max_occ: float,
    as_json: bool,
) -> None:
    try:
        config = load_config(config_path)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    last_day = last or dt.date.today()
    first_day = first or last_day - dt.timedelta(days=27)
    if first_day > last_day:
        raise click.ClickException("--from: after --to")
    db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        served = served_from_rows(db.execute(SERVED_SQL, (first_day.isoformat(), last_day.isoformat())))
    except sqlite3.DatabaseError as exc:
        raise click.ClickException(f"{db_path}: not a hallctl database ({exc})") from None
    finally:
        db.close()
    demand, days = hourly_demand(config, served, weekday=WEEKDAYS.index(weekday) if weekday else None)
    if not demand:
        raise click.ClickException(f"no served tickets between {first_day} and {last_day} to learn from")
    plan = advise(demand, service_level=level, staffed=windows_by_kind(config), max_occupancy=max_occ)
    if as_json:
        out = {
            "from": first_day.isoformat(),
            "to": last_day.isoformat(),
            "days": days,
            "weekday": weekday,
            "service_level": level,
            "hours": [a.as_dict() for a in plan],
        }
        click.echo(json.dumps(out, ensure_ascii=False))
        return
    click.echo(
        f"Staffing plan from {days} day(s), {first_day} – {last_day}, for {level:.0%} within each target"
    )
    _print_plan(plan)


def _print_plan(plan: list[HourAdvice]) -> None:
    click.echo(
        f"{'pool':<13}{'hour':>5}{'arrivals/h':>11}{'service s':>10}{'target s':>9}"
        f"{'advise':>7}{'have':>6}{'SL now':>8}"
    )
    for a in plan:
        d = a.demand
        have = a.staffed.windows if a.staffed else 0
        sl = f"{a.staffed.service_level(d.target_seconds):.0%}" if a.staffed else "-"
        click.echo(
            f"{d.pool:<13}{d.hour:>5}{d.arrivals_per_hour:>11.1f}{d.service_seconds:>10.0f}"
            f"{d.target_seconds:>9.0f}{a.windows:>7}{have:>6}{sl:>8}"
        )


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
    as_json: bool,
) -> None:
    """Staffing advice (人员配置建议) by Erlang C.

    One period: --arrivals-per-hour and --service-seconds, with --windows for its figures and/or
    --service-level for the recommended count. A day's plan, hour by hour: --config and --db (learns the
    demand of each pool of windows from the served tickets, the last 28 days by default).
    """
    if config_path or db_path:
        if not (config_path and db_path):
            raise click.UsageError("a plan needs both --config and --db")
        if arrivals_per_hour is not None or service_seconds is not None or windows is not None:
            raise click.UsageError(
                "give either one period (--arrivals-per-hour …) or a plan (--config, --db)"
            )
        _day_plan(
            config_path,
            db_path,
            first.date() if first else None,
            last.date() if last else None,
            weekday,
            service_level or 0.8,
            max_occupancy,
            as_json,
        )
        return
    if arrivals_per_hour is None or service_seconds is None:
        raise click.UsageError(
            "give --arrivals-per-hour and --service-seconds, or --config and --db for a plan"
        )
    _one_period(
        arrivals_per_hour, service_seconds, windows, target_seconds, service_level, max_occupancy, as_json
    )
