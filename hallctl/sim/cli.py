"""``hallctl simulate``: the simulator's command. It reads the files, runs :func:`hallctl.sim.simulate` and
writes the table, the JSON, the chart and the history CSV; everything else lives in the library."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import click

from hallctl.config import ConfigError, HallConfig, load_config
from hallctl.sim.default_demand import default_demand
from hallctl.sim.demand import Demand, DemandError, load_profile
from hallctl.sim.plan import DEFAULT_START_DATE
from hallctl.sim.report import compare_report, setup_name, text_report, write_events
from hallctl.sim.results import summarize
from hallctl.sim.runs import simulate
from hallctl.sim.setups import difference, same_matters, siloed


def _progress(label: str) -> Callable[[int, int], None] | None:
    """A progress bar on stderr, only where a person watches it (never on stdout, never into a log)."""
    if not sys.stderr.isatty():
        return None

    def show(done: int, total: int) -> None:
        filled = round(30 * done / total)
        end = "\n" if done == total else ""
        sys.stderr.write(f"\r{label}: [{'#' * filled}{' ' * (30 - filled)}] {done}/{total} 天{end}")
        sys.stderr.flush()

    return show


def _load(config_path: Path, arrivals: Path | None, always_open: bool) -> tuple[HallConfig, Demand]:
    try:
        config = load_config(config_path)
        demand = (
            load_profile(arrivals, config) if arrivals else default_demand(config, always_open=always_open)
        )
    except (ConfigError, DemandError) as exc:
        raise click.ClickException(str(exc)) from None
    return config, demand


def _setup(name: str, config: HallConfig, demand: Demand) -> HallConfig:
    if name == "siloed":
        try:
            return siloed(config, demand)
        except ValueError as exc:
            raise click.ClickException(f"--compare siloed: {exc}") from None
    try:
        other = load_config(Path(name))
    except ConfigError as exc:
        raise click.ClickException(f"--compare: {exc}") from None
    why = same_matters(config, other)
    if why:
        raise click.ClickException(f"--compare {name}: cannot run the same demand: {why}")
    return other


@click.command("simulate")
@click.option("--config", "config_path", type=click.Path(path_type=Path), required=True, help="Hall TOML.")
@click.option("--days", type=click.IntRange(1, 3650), default=1, show_default=True, help="Open days to run.")
@click.option("--seed", type=int, default=1, show_default=True, help="Same seed, same citizens.")
@click.option(
    "--arrivals",
    type=click.Path(path_type=Path),
    default=None,
    help="Arrival profile TOML (config/arrivals.example.toml); default: derived from the config.",
)
@click.option("--always-open", is_flag=True, help="Open 24 hours a day, every day (ignore opening hours).")
@click.option(
    "--start-date",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=DEFAULT_START_DATE.isoformat(),
    show_default=True,
    help="First day to simulate (closed days are skipped).",
)
@click.option("--json", "as_json", is_flag=True, help="Only JSON on stdout.")
@click.option("--chart", type=click.Path(path_type=Path), default=None, help="Write a PNG chart here.")
@click.option(
    "--events-out",
    type=click.Path(path_type=Path),
    default=None,
    help="Write the tickets as a history CSV (what `hallctl replay` reads).",
)
@click.option(
    "--compare",
    "compare",
    multiple=True,
    metavar="SETUP",
    help="Run the same demand under another setup: `siloed` or another hall config file.",
)
@click.argument("more_setups", nargs=-1, metavar="[SETUP]...")
def simulate_command(
    config_path: Path,
    days: int,
    seed: int,
    arrivals: Path | None,
    always_open: bool,
    start_date: Any,
    as_json: bool,
    chart: Path | None,
    events_out: Path | None,
    compare: tuple[str, ...],
    more_setups: tuple[str, ...],
) -> None:
    """Simulate the hall on a virtual clock through the real routing; print waits, service levels and
    utilisation per matter and channel. `--compare siloed other.toml` runs the same citizens under other
    window setups and prints the difference."""
    if more_setups and not compare:
        raise click.UsageError(f"unexpected argument {more_setups[0]!r} (setups follow --compare)")
    config, demand = _load(config_path, arrivals, always_open)
    setups = [*compare, *more_setups]
    others = {name: _setup(name, config, demand) for name in setups}
    first_day: date = start_date.date()

    def run(hall: HallConfig, setup: str) -> dict[str, Any]:
        label = setup_name(setup)
        try:
            result = simulate(
                hall,
                demand,
                days,
                seed,
                start_date=first_day,
                always_open=always_open,
                setup=setup,
                progress=_progress(f"模拟 {label}") if days > 1 else None,
            )
        except ValueError as exc:
            raise click.ClickException(f"{setup}: {exc}") from None
        if setup == "current" and events_out is not None:
            rows = write_events(result, events_out)
            click.echo(f"wrote {rows} tickets to {events_out}", err=True)
        return summarize(result)

    base = run(config, "current")
    compared: list[dict[str, Any]] = []
    for name, hall in others.items():
        figures = run(hall, name)
        compared.append({"setup": name, "figures": figures, "difference": difference(base, figures)})
    if chart is not None:
        from hallctl.sim.chart import draw_chart  # Pillow only when a chart is asked for

        runs = [(setup_name("current"), base)]
        runs += [(setup_name(c["setup"]), c["figures"]) for c in compared]
        draw_chart(chart, f"{config.hall.name} 模拟 {days} 天（种子 {seed}）", runs)
        click.echo(f"wrote the chart to {chart}", err=True)
    if as_json:
        out = dict(base)
        if compared:
            out["compare"] = compared
        click.echo(json.dumps(out, ensure_ascii=False))
        return
    click.echo(text_report(config, base))
    if compared:
        click.echo("")
        click.echo(compare_report(config, base, compared))
