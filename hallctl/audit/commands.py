"""``hallctl verify-journal`` and ``hallctl audit-report``: thin click commands over the audit package,
and :func:`journaled`, which the token commands use to journal what they change outside the daemon."""

from __future__ import annotations

import getpass
import sqlite3
import sys
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import Any

import click
import orjson

from hallctl.audit import chain
from hallctl.audit.export import export_ratings
from hallctl.audit.render import render_csv, render_html
from hallctl.audit.report import EARLIEST, LATEST, build_report, compare_halls, day_bounds
from hallctl.audit.settings import AuditSettings, recorded_settings
from hallctl.config import ConfigError, load_config


def _json(value: object) -> str:
    return orjson.dumps(value, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS).decode()


def open_read_only(db: Path) -> sqlite3.Connection:
    """The file as it is: an audit never migrates or writes what it reads (the daemon may be running)."""
    conn = sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True)
    try:
        conn.execute("select 1 from journal limit 1")
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise click.ClickException(f"{db}: not a hall database ({exc})") from None
    return conn


def _settings(conn: sqlite3.Connection, config: Path | None, until: float | None = None) -> AuditSettings:
    if config is None:
        return recorded_settings(conn, until)
    try:
        return AuditSettings.of(load_config(config), str(config))
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


CONFIG_HELP = (
    "The hall's TOML file, for its time zone, hours and [audit] settings "
    "(default: the ones the daemon last recorded in the journal)."
)


@click.command("verify-journal")
@click.option("--db", type=click.Path(path_type=Path, exists=True, dir_okay=False), required=True)
@click.option("--config", "config_path", type=click.Path(path_type=Path), default=None, help=CONFIG_HELP)
@click.option(
    "--anchors",
    "anchors_path",
    type=click.Path(path_type=Path, exists=True, dir_okay=False),
    default=None,
    help="Anchors kept elsewhere (an earlier --json output, a report's JSON, or DAY SEQ HASH lines): "
    "each must still hold.",
)
@click.option(
    "--json", "as_json", is_flag=True, help="Print the result as JSON (save it: it holds the anchors)."
)
def verify_journal(db: Path, config_path: Path | None, anchors_path: Path | None, as_json: bool) -> None:
    """Check the journal's hash chain; exit 0 and print the daily anchors, or name the first broken row
    and exit 1."""
    with closing(open_read_only(db)) as conn:
        if not chain.has_chain(conn):
            raise click.ClickException(
                f"{db}: the journal has no hash chain yet; start the daemon on it once (or run any hallctl "
                "command that opens it) to chain the rows it holds"
            )
        zone = _settings(conn, config_path).zone
        result = chain.verify(conn, zone)
        anchor_problems: list[chain.Break] = []
        if anchors_path is not None:
            saved = chain.parse_anchors(anchors_path.read_text(encoding="utf-8"))
            if not saved:
                raise click.ClickException(f"{anchors_path}: no anchors found in it")
            anchor_problems = chain.check_anchors(conn, saved)
    ok = result.ok and not anchor_problems
    if as_json:
        data = result.as_dict() | {
            "anchor_problems": [{"seq": b.seq, "problem": b.problem} for b in anchor_problems]
        }
        click.echo(_json(data | {"ok": ok}))
        sys.exit(0 if ok else 1)
    if result.ok:
        span = f"seq {result.first_seq}..{result.last_seq}" if result.rows else "empty"
        click.echo(f"OK: {_rows(result.rows)} ({span}), the hash chain is intact")
    else:
        first = result.first_break
        assert first is not None
        click.echo(f"BROKEN: the first broken row is seq {first.seq}: {first.problem}")
        if result.broken > 1:
            listed = ", ".join(str(b.seq) for b in result.breaks[:20])
            click.echo(
                f"{result.broken} rows broken in all (seq {listed}{', …' if result.broken > 20 else ''})"
            )
    if anchors_path is not None:
        if anchor_problems:
            for problem in anchor_problems:
                click.echo(f"ANCHOR MISMATCH at seq {problem.seq}: {problem.problem}")
        else:
            click.echo(f"the anchors in {anchors_path} all hold")
    if result.anchors:
        click.echo(f"daily anchors (each day's last hash; keep a copy elsewhere) in {zone.key}:")
        for a in result.anchors:
            click.echo(f"  {a.day}  seq {a.seq:<8}  {a.hash}  ({_rows(a.rows)})")
    sys.exit(0 if ok else 1)


def _rows(n: int) -> str:
    return f"{n} row" if n == 1 else f"{n} rows"


def _range(first: datetime, last: datetime | None) -> tuple[date, date]:
    start, end = first.date(), (first if last is None else last).date()
    for name, day in (("--from", start), ("--to", end)):
        if not EARLIEST <= day <= LATEST:
            raise click.BadParameter(f"{day} is not within {EARLIEST}..{LATEST}", param_hint=name)
    if end < start:
        raise click.BadParameter("--to is before --from", param_hint="--to")
    return start, end


@click.command("audit-report")
@click.option(
    "--db",
    "dbs",
    type=click.Path(path_type=Path, exists=True, dir_okay=False),
    required=True,
    multiple=True,
    help="The hall's SQLite file (or a backup). Several --db compare their halls side by side.",
)
@click.option(
    "--from", "first", type=click.DateTime(["%Y-%m-%d"]), required=True, help="First day, YYYY-MM-DD."
)
@click.option(
    "--to", "last", type=click.DateTime(["%Y-%m-%d"]), default=None, help="Last day (default: --from)."
)
@click.option(
    "--format", "fmt", type=click.Choice(["html", "csv", "json"]), default="html", show_default=True
)
@click.option("--config", "config_path", type=click.Path(path_type=Path), default=None, help=CONFIG_HELP)
@click.option("--output", type=click.Path(path_type=Path, dir_okay=False), default=None, help="Write here.")
def audit_report(
    dbs: tuple[Path, ...],
    first: datetime,
    last: datetime | None,
    fmt: str,
    config_path: Path | None,
    output: Path | None,
) -> None:
    """The journal review (数据库日志审查) of some days: counts per audit class per clerk, window and day
    against tickets served, the anomalies with their evidence, the key events and the daily anchors."""
    start, end = _range(first, last)
    reports = []
    for db in dbs:
        with closing(open_read_only(db)) as conn:
            zone = _settings(conn, config_path).zone
            settings = _settings(conn, config_path, until=day_bounds(start, end, zone)[1])
            reports.append(build_report(conn, settings, start, end))
    text = _render(reports, fmt)
    if output is None:
        click.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        click.echo(f"wrote {output}", err=True)


def _render(reports: list[dict[str, Any]], fmt: str) -> str:
    if len(reports) == 1:
        report = reports[0]
        if fmt == "json":
            return _json(report) + "\n"
        return render_csv(report) if fmt == "csv" else render_html(report)
    halls = compare_halls(reports)
    if fmt == "json":
        return _json({"comparison": halls, "halls": reports}) + "\n"
    if fmt == "csv":
        return render_csv(reports[0], comparison=halls)
    return render_html(reports[0], comparison=halls, more=reports[1:])


@click.command("ratings-export")
@click.option("--db", type=click.Path(path_type=Path, exists=True, dir_okay=False), required=True)
@click.option(
    "--from", "first", type=click.DateTime(["%Y-%m-%d"]), required=True, help="First day, YYYY-MM-DD."
)
@click.option(
    "--to", "last", type=click.DateTime(["%Y-%m-%d"]), default=None, help="Last day (default: --from)."
)
@click.option("--config", "config_path", type=click.Path(path_type=Path), default=None, help=CONFIG_HELP)
@click.option("--output", type=click.Path(path_type=Path, dir_okay=False), default=None, help="Write here.")
def ratings_export(
    db: Path, first: datetime, last: datetime | None, config_path: Path | None, output: Path | None
) -> None:
    """好差评 ratings with their 差评整改 follow-up, as JSON for the provincial platform (docs/audit.md);
    services nobody rated count as the configured default once its delay has passed."""
    start, end = _range(first, last)
    with closing(open_read_only(db)) as conn:
        settings = _settings(conn, config_path)
        data = export_ratings(
            conn,
            settings.zone,
            start,
            end,
            hall=settings.hall,
            now=time.time(),
            unrated_level=settings.ratings.unrated_level,
            unrated_after_days=settings.ratings.unrated_after_days,
        )
    text = _json(data) + "\n"
    if output is None:
        click.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        click.echo(f"wrote {output}", err=True)


# -- journaling from the command line --------------------------------------------------------------------


def operator() -> str:
    """Who runs a command on the hall's server: the account, as far as the OS knows it."""
    try:
        return f"operator:{getpass.getuser()}"
    except (KeyError, OSError):  # no name for the uid (a container)
        return "operator"


@contextmanager
def journaled(conn: sqlite3.Connection, action: str, **detail: Any) -> Iterator[dict[str, Any]]:
    """Make a change to the file and journal it in one write transaction (the daemon may be running: its
    writer picks the row up). The block may add to the detail it is given; nothing secret belongs there."""
    conn.execute("begin immediate")
    try:
        yield detail
        entry = (
            time.time(),
            operator(),
            "operator",
            action,
            None,
            None,
            None,
            None,
            orjson.dumps(detail).decode(),
        )
        chain.append_entries(conn, [entry])
        conn.execute("commit")
    except BaseException:
        conn.execute("rollback")
        raise
