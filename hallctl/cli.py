"""The ``hallctl`` command: thin click commands over the library (see ``hallctl --help``)."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
import sqlite3
import sys
import time
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

import click

from hallctl.audit.commands import audit_report, ratings_export, verify_journal
from hallctl.config import ConfigError, HallConfig, load_config
from hallctl.history.commands import export_history_command, replay_command
from hallctl.sim.cli import simulate_command
from hallctl.staffing.cli import staffing

EXAMPLE_CONFIG = Path(__file__).resolve().parents[1] / "config" / "hall.example.toml"
log = logging.getLogger("hallctl")


def _config(path: Path) -> HallConfig:
    try:
        return load_config(path)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


@click.group()
@click.version_option(package_name="hallctl")
def main() -> None:
    """hallctl: the queue controller of a comprehensive-teller (综合柜员制) service hall."""


@main.command("check-config")
@click.argument("file", type=click.Path(path_type=Path))
def check_config(file: Path) -> None:
    """Validate a hall configuration file; exit 0 if it is usable."""
    config = _config(file)
    click.echo(
        f"{file}: ok — {config.hall.name}: {len(config.matters)} matters, "
        f"{len(config.windows)} windows, {len(config.profiles)} profiles"
    )


async def _serve(
    config: HallConfig,
    db: Path,
    host: str,
    port: int,
    always_open: bool,
    mqtt: str | None = None,
    on_ready: str | None = None,
    narrate: bool = False,
) -> None:
    from aiohttp import web

    from hallctl.forecast.forecaster import Forecaster
    from hallctl.hub.hub import DeviceHub
    from hallctl.service import HallService
    from hallctl.web.app import create_app

    async with (
        HallService(config, db, always_open=always_open) as service,
        DeviceHub(service, mqtt_url=mqtt, narrate=narrate) as hub,
        Forecaster(service) if config.forecast.enabled else contextlib.nullcontext() as forecaster,
    ):
        runner = web.AppRunner(
            create_app(service, hub, forecaster or None), access_log=None, handle_signals=False
        )
        await runner.setup()
        site = web.TCPSite(runner, host, port, backlog=2048)
        await site.start()
        # Everything loaded so far (libraries, config, the day's state) lives as long as the daemon: move it
        # out of the collector's sight. Full collections then scan only what came later; before, each one
        # walked the whole heap and stalled every request for 25-40 ms.
        gc.collect()  # also resets the generation counts, so the next full collection is far off
        gc.freeze()
        gc.set_threshold(10_000, 50, 50)
        log.info("hall %s serving on http://%s:%d (database %s)", config.hall.id, host, port, db)
        if on_ready:
            click.echo(on_ready, err=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        log.info("stopping")
        await runner.cleanup()


def _run(main: Coroutine[Any, Any, None]) -> None:
    """Run the daemon's loop: uvloop where it is installed (it serves about a third more requests per
    core, and the daemon is bound by one core), else asyncio's own."""
    try:
        import uvloop
    except ImportError:
        asyncio.run(main)
    else:
        uvloop.run(main)


def _logging(level: str) -> None:
    logging.basicConfig(
        level=level.upper(), stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )


@main.command()
@click.option(
    "--config", "config_path", type=click.Path(path_type=Path), required=True, help="Hall TOML file."
)
@click.option(
    "--db", type=click.Path(path_type=Path), required=True, help="SQLite file (created if missing)."
)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8080, show_default=True, type=int)
@click.option("--always-open", is_flag=True, help="Ignore opening hours (demos and tests at any hour).")
@click.option(
    "--mqtt", default=None, metavar="mqtt://HOST:PORT", help="The device broker (overrides the config)."
)
@click.option(
    "--log-level", default="info", show_default=True, type=click.Choice(["debug", "info", "warning", "error"])
)
def serve(
    config_path: Path, db: Path, host: str, port: int, always_open: bool, mqtt: str | None, log_level: str
) -> None:
    """Run the hall daemon."""
    from devices.mqtt.link import BrokerAddress, MqttUrlError

    _logging(log_level)
    config = _config(config_path)
    if mqtt:
        try:
            BrokerAddress.parse(mqtt)
        except MqttUrlError as exc:
            raise click.BadParameter(str(exc), param_hint="--mqtt") from None
    _run(_serve(config, db, host, port, always_open, mqtt))


@main.command()
@click.option(
    "--config", "config_path", type=click.Path(path_type=Path), default=EXAMPLE_CONFIG, show_default=True
)
@click.option(
    "--dir",
    "directory",
    type=click.Path(path_type=Path),
    default=Path("demo-hall"),
    show_default=True,
    help="Where the demo keeps its database.",
)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8080, show_default=True, type=int)
@click.option(
    "--history/--no-history",
    default=True,
    show_default=True,
    help="Seed a new database with four simulated weeks (docs/simulator.md); an existing one is kept as is.",
)
def demo(config_path: Path, directory: Path, host: str, port: int, history: bool) -> None:
    """A demo hall on embedded defaults: the example config, a SQLite file, fresh tokens printed."""
    from hallctl.sim.seed import SeedError, say_on_stderr, seed_demo_history
    from hallctl.store.schema import open_db
    from hallctl.store.tokens import create_token

    _logging("info")
    config = _config(config_path)
    directory.mkdir(parents=True, exist_ok=True)
    db = directory / "hall.db"
    new = not db.exists()
    conn = open_db(db).conn
    if new and history:
        try:
            seed_demo_history(conn, config, time.time(), say=say_on_stderr)
        except SeedError as exc:  # the demo still runs, on an empty past
            click.echo(f"demo history not seeded: {exc}", err=True)
    made = {
        "kiosk": create_token(conn, "kiosk", name="1号取号机"),  # prints on the simulated printer-1
        "manager": create_token(conn, "manager", name="demo manager"),
        "display": create_token(conn, "display", name="demo board"),
        "casesys": create_token(conn, "casesys", name="demo case system"),
        "auditor": create_token(conn, "auditor", name="demo auditor"),
        "clerk1": create_token(conn, "clerk", clerk="clerk1", name="demo clerk 1"),
        "clerk2": create_token(conn, "clerk", clerk="clerk2", name="demo clerk 2"),
    }
    conn.close()
    url = f"http://{host}:{port}"
    hint = [
        "",
        f"  {config.hall.name} — demo hall running at {url}",
        f"  database: {db}   (delete the folder to start over)",
        "",
        "  Demo tokens (new each start; use as 'Authorization: Bearer TOKEN' or ?token=TOKEN on pages):",
        *[f"    {name:<8} {token}" for name, token in made.items()],
        "",
        "  Try:",
        f"    curl -s {url}/api/v1/matters -H 'Authorization: Bearer {made['kiosk']}'",
        f"    curl -s -X POST {url}/api/v1/tickets -H 'Authorization: Bearer {made['kiosk']}' "
        "-H 'Content-Type: application/json' -d '{\"matter\": \"CBDJ\"}'",
        f"    curl -s -X POST {url}/api/v1/windows/1/login -H 'Authorization: Bearer {made['clerk1']}'",
        f"    curl -s -X POST {url}/api/v1/windows/1/call-next -H 'Authorization: Bearer {made['clerk1']}'",
        f"    curl -s {url}/api/v1/stats -H 'Authorization: Bearer {made['casesys']}'",
        f"  API document: {url}/api/v1/openapi.json    health: {url}/healthz    metrics: {url}/metrics",
        "  Stop with Ctrl-C.",
        "",
    ]
    _run(_serve(config, db, host, port, always_open=True, on_ready="\n".join(hint), narrate=True))


@main.group()
def token() -> None:
    """Create, list and revoke API tokens."""


@token.command("create")
@click.option("--db", type=click.Path(path_type=Path), required=True)
@click.option("--role", required=True, help="kiosk, clerk, manager, auditor, display, casesys or booking.")
@click.option("--clerk", default=None, help="The clerk's id (clerk tokens only).")
@click.option("--name", default="", help="Who or what holds the token, for the journal.")
def token_create(db: Path, role: str, clerk: str | None, name: str) -> None:
    """Print a new token once, alone on the last line; only its hash is stored."""
    from hallctl.audit.commands import journaled
    from hallctl.store.schema import open_db
    from hallctl.store.tokens import TokenError, create_token, lookup

    conn = open_db(db).conn
    try:
        with journaled(conn, "token.create", role=role, clerk=clerk, name=name) as detail:  # key audit
            made = create_token(conn, role, clerk=clerk, name=name)
            info = lookup(conn, made)
            detail["token_id"] = info.id if info else None
    except TokenError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        conn.close()
    click.echo(f"# {role} token{' for ' + clerk if clerk else ''} — shown once, keep it safe", err=True)
    click.echo(made)


@token.command("list")
@click.option("--db", type=click.Path(path_type=Path, exists=True), required=True)
def token_list(db: Path) -> None:
    """List tokens (never the tokens themselves)."""
    from hallctl.store.schema import open_db
    from hallctl.store.tokens import list_tokens

    conn = open_db(db).conn
    for info in list_tokens(conn):
        state = "revoked" if info.revoked_at else "active"
        click.echo(f"{info.id}\t{info.role.value}\t{info.clerk or '-'}\t{info.name or '-'}\t{state}")
    conn.close()


@token.command("revoke")
@click.option("--db", type=click.Path(path_type=Path, exists=True), required=True)
@click.argument("token_id", type=int)
def token_revoke(db: Path, token_id: int) -> None:
    """Revoke a token by its id (see ``token list``); a running daemon stops accepting it within 5 s."""
    from hallctl.audit.commands import journaled
    from hallctl.store.schema import open_db
    from hallctl.store.tokens import revoke

    conn = open_db(db).conn
    try:
        with journaled(conn, "token.revoke", token_id=token_id):
            if not revoke(conn, token_id):
                raise click.ClickException(f"no active token with id {token_id}")
    finally:
        conn.close()
    click.echo(f"revoked token {token_id}")


@main.command()
@click.option("--db", type=click.Path(path_type=Path, exists=True, dir_okay=False), required=True)
@click.option("--to", "target", type=click.Path(path_type=Path), required=True)
def backup(db: Path, target: Path) -> None:
    """A consistent copy of a live database (SQLite's online backup API)."""
    if target.exists():
        raise click.ClickException(f"{target} exists; choose a new file")
    source = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    dest = sqlite3.connect(target)
    try:
        with dest:
            # One step, in one read transaction. In WAL mode a reader never blocks the daemon's commits,
            # so steps buy nothing, and they cost everything: a commit by the daemon between two steps
            # restarts the copy, so under steady traffic a file of a few thousand pages never finished.
            source.backup(dest, pages=-1)
        check = dest.execute("pragma integrity_check").fetchone()[0]
    finally:
        dest.close()
        source.close()
    if check != "ok":
        with contextlib.suppress(OSError):
            target.unlink()
        raise click.ClickException(f"the copy failed its integrity check: {check}")
    click.echo(f"backed up {db} to {target}")


# The journal review commands live with the audit package (hallctl/audit/commands.py).
main.add_command(verify_journal)
main.add_command(audit_report)
main.add_command(ratings_export)
main.add_command(staffing)
# History export and replay (backtest) live with the history package (hallctl/history/commands.py).
main.add_command(export_history_command)
main.add_command(replay_command)
# The hall simulator lives with the sim package (hallctl/sim/cli.py).
main.add_command(simulate_command)
