"""``hallctl export-history`` and ``hallctl replay``: thin commands over the history package."""

from __future__ import annotations

import json
import sys
import time
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

import click

from hallctl.config import ConfigError, load_config
from hallctl.core.calendar import business_day
from hallctl.history.accuracy import OVERALL, accuracy, improvement, render_table
from hallctl.history.events import (
    HistoryError,
    check_against_config,
    read_history,
    write_csv_atomically,
    write_history,
)
from hallctl.history.export import ExportError, export_history
from hallctl.history.replay import FORECAST, PREDICTORS, Prediction, replay_history

PREDICTION_COLUMNS = ("ticket_id", "predicted_wait_s", "actual_wait_s")


def _note(message: str) -> None:
    click.echo(message, err=True)


def _day(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)", param_hint=option) from None


@click.command("export-history")
@click.option(
    "--db", type=click.Path(path_type=Path, dir_okay=False), required=True, help="The hall's SQLite file."
)
@click.option(
    "--out", type=click.Path(path_type=Path, dir_okay=False), required=True, help="The CSV to write."
)
@click.option("--from", "first", default=None, metavar="DATE", help="First business day (YYYY-MM-DD).")
@click.option("--to", "last", default=None, metavar="DATE", help="Last business day (YYYY-MM-DD).")
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path),
    default=None,
    help="Hall TOML file: times are written in its zone (else UTC).",
)
def export_history_command(
    db: Path, out: Path, first: str | None, last: str | None, config_path: Path | None
) -> None:
    """Write the hall's tickets as a history CSV (docs/history.md): served tickets with their first call
    and finish, no-shows without; voided tickets are left out."""
    first_day, last_day = _day(first, "--from"), _day(last, "--to")
    if first_day and last_day and first_day > last_day:
        raise click.BadParameter(f"{last} is before --from {first}", param_hint="--to")
    zone = ZoneInfo("UTC")
    if config_path is not None:
        try:
            zone = load_config(config_path).hall.zone
        except ConfigError as exc:
            raise click.ClickException(str(exc)) from None
    try:
        exported = export_history(db, business_day(time.time(), zone), first_day, last_day)
    except ExportError as exc:
        raise click.ClickException(str(exc)) from None
    write_history(exported.records, out, zone)
    _note(
        f"wrote {len(exported.records)} tickets to {out}: {exported.served} served, {exported.no_shows} "
        f"no-shows, {exported.abandoned} abandoned on earlier days (written as no-shows); left out "
        f"{exported.voided} voided and {exported.in_play} still in play today"
    )


def _seconds(value: float | None) -> str:
    return "" if value is None else f"{value:.3f}".rstrip("0").rstrip(".")


def _prediction_rows(predictions: list[Prediction]) -> list[list[str]]:
    rows = [list(PREDICTION_COLUMNS)]
    rows.extend([p.ticket_id, _seconds(p.predicted[FORECAST]), _seconds(p.actual)] for p in predictions)
    return rows


@click.command("replay")
@click.option(
    "--config", "config_path", type=click.Path(path_type=Path), required=True, help="Hall TOML file."
)
@click.option(
    "--log", "log_path", type=click.Path(path_type=Path, dir_okay=False), required=True, help="History CSV."
)
@click.option(
    "--out", type=click.Path(path_type=Path, dir_okay=False), required=True, help="Predictions CSV to write."
)
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON on stdout.")
@click.option("--seed", default=0, show_default=True, type=int, help="Seed of the forecast's sampling.")
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(1, 64),
    help="Processes replaying days in parallel (the result is the same).",
)
def replay_command(
    config_path: Path, log_path: Path, out: Path, as_json: bool, seed: int, workers: int
) -> None:
    """Replay a history CSV in virtual time and score each ticket's forecast wait, made at its issue,
    against the wait that happened, beside the simple predictors (docs/history.md)."""
    try:
        config = load_config(config_path)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    try:
        records = read_history(log_path, config.hall.zone)
        check_against_config(records, config, str(log_path))
    except HistoryError as exc:
        raise click.ClickException(str(exc)) from None
    started = time.monotonic()
    _note(f"replaying {len(records)} tickets from {log_path} ({workers} worker(s))")

    def progress(done: int, days: int) -> None:
        _note(f"  {done}/{days} days replayed ({time.monotonic() - started:.0f} s)")

    result = replay_history(config, records, seed=seed, workers=workers, progress=progress)
    write_csv_atomically(out, _prediction_rows(result.predictions))
    counts = result.counts
    _note(
        f"wrote {len(result.predictions)} predictions to {out} in {time.monotonic() - started:.1f} s; "
        f"{counts.routed_calls} calls as routing would make them, {counts.out_of_order_calls} out of order, "
        f"{counts.inferred_no_shows + counts.unreached_no_shows} no-shows ({counts.unreached_no_shows} "
        f"never reached), {counts.overlaps} overlapping calls"
    )
    figures = accuracy(result.predictions, PREDICTORS)
    overall = figures[-1]
    if as_json:
        document = {
            "tickets": counts.tickets,
            "counts": vars(counts),
            "predictors": list(PREDICTORS),
            "overall": overall.as_json(),
            "matters": {f.group: f.as_json() for f in figures if f.group != OVERALL},
            "channels": {
                f.group: f.as_json()
                for f in accuracy(result.predictions, PREDICTORS, by="channel")
                if f.group != OVERALL
            },
            "forecast_better_than_head_of_line_pct": _rounded(improvement(overall, FORECAST, "head_of_line")),
        }
        sys.stdout.write(json.dumps(document, ensure_ascii=False, indent=2) + "\n")
        return
    click.echo(render_table(figures, PREDICTORS))
    gain = improvement(overall, FORECAST, "head_of_line")
    if gain is not None:
        click.echo(f"forecast MAE is {gain:.0f}% below head of line's")


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 1)
