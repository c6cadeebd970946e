"""The ``hallctl`` command as an installer and an operator use it: check a config, make a token, back up
a live database."""

from __future__ import annotations

import hashlib
import re
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from hallctl.cli import main

from .halltest import EXAMPLE_CONFIG, Hall


def hallctl(*args: str | Path) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args])


# -- check-config -----------------------------------------------------------------------------------
def test_check_config_accepts_the_example_hall() -> None:
    result = hallctl("check-config", EXAMPLE_CONFIG)
    assert result.exit_code == 0, result.output
    assert "ok" in result.stdout and "13 matters, 8 windows" in result.stdout


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        ("max_recalls = 3", "max_recals = 3", "rules.max_recals"),  # a typo is an unknown key
        ("target_wait_minutes = 20", "target_wait_minutes = 0", "matters[0].target_wait_minutes"),
        ('profile = "green"', 'profile = "vip"', "windows[7].profile"),
        ('timezone = "Asia/Shanghai"', 'timezone = "Asia/Beijing"', "hall.timezone"),
        ('weekdays = ["08:30-12:00"', 'weekdays = ["08:30-07:00"', "weekdays"),
        ('prefix = "Z"\nname = "业务咨询"', 'prefix = "z"\nname = "业务咨询"', "groups[5].prefix"),
    ],
    ids=["unknown key", "bad value", "unknown profile", "unknown zone", "span backwards", "bad prefix"],
)
def test_check_config_refuses_a_bad_file_and_names_the_key(
    tmp_path: Path, old: str, new: str, key: str
) -> None:
    text = EXAMPLE_CONFIG.read_text(encoding="utf-8")
    assert old in text, f"the example config no longer has {old!r}"
    bad = tmp_path / "hall.toml"
    bad.write_text(text.replace(old, new, 1), encoding="utf-8")
    result = hallctl("check-config", bad)
    assert result.exit_code != 0
    assert key in result.stderr and str(bad) in result.stderr, result.stderr


@pytest.mark.parametrize(
    ("content", "says"),
    [(None, "cannot read"), ("[hall\nid = 1", "not valid TOML"), (b"\xff\xfe", "not UTF-8")],
    ids=["missing", "not TOML", "not UTF-8"],
)
def test_check_config_refuses_a_file_it_cannot_read(
    tmp_path: Path, content: str | bytes | None, says: str
) -> None:
    path = tmp_path / "hall.toml"
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    elif isinstance(content, bytes):
        path.write_bytes(content)
    result = hallctl("check-config", path)
    assert result.exit_code != 0 and says in result.stderr and str(path) in result.stderr


# -- token create -----------------------------------------------------------------------------------
def test_token_create_prints_the_token_alone_on_the_last_line_and_stores_only_its_hash(
    tmp_path: Path,
) -> None:
    db = tmp_path / "hall.db"  # a new database: created on the way
    result = hallctl("token", "create", "--db", db, "--role", "clerk", "--clerk", "c7", "--name", "柜员7")
    assert result.exit_code == 0, result.output
    token = result.stdout.splitlines()[-1]
    assert re.fullmatch(r"hc_[A-Za-z0-9_-]{20,}", token), result.stdout
    assert result.stdout.strip() == token  # alone: the notice goes to stderr
    conn = sqlite3.connect(db)
    rows = conn.execute("select hash, role, clerk, name from tokens").fetchall()
    conn.close()
    assert rows == [(hashlib.sha256(token.encode()).hexdigest(), "clerk", "c7", "柜员7")]
    for part in db.parent.iterdir():  # not the token itself anywhere in the file, its WAL or its index
        assert token.encode() not in part.read_bytes(), part


def test_token_create_adds_to_an_existing_database(tmp_path: Path) -> None:
    db = tmp_path / "hall.db"
    first = hallctl("token", "create", "--db", db, "--role", "kiosk").stdout.splitlines()[-1]
    second = hallctl("token", "create", "--db", db, "--role", "kiosk").stdout.splitlines()[-1]
    assert first != second
    conn = sqlite3.connect(db)
    assert conn.execute("select count(*) from tokens").fetchone()[0] == 2
    conn.close()


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--role", "janitor"], "unknown role"),
        (["--role", "clerk"], "needs --clerk"),
        (["--role", "kiosk", "--clerk", "c1"], "only for clerk"),
    ],
    ids=["unknown role", "clerk without id", "clerk id on a kiosk"],
)
def test_token_create_refuses_a_wrong_role(tmp_path: Path, args: list[str], says: str) -> None:
    db = tmp_path / "hall.db"
    result = hallctl("token", "create", "--db", db, *args)
    assert result.exit_code != 0 and says in result.stderr and result.stdout == ""
    conn = sqlite3.connect(db)
    assert conn.execute("select count(*) from tokens").fetchone()[0] == 0
    conn.close()


# -- backup -----------------------------------------------------------------------------------------
async def test_backup_copies_a_database_the_hall_has_open(hall_with_queue: Hall, tmp_path: Path) -> None:
    hall = hall_with_queue
    await hall.api("POST", "/api/v1/windows/1/call-next", hall.tokens["c1"])
    copy = tmp_path / "backup" / "hall-copy.db"
    copy.parent.mkdir()
    result = hallctl("backup", "--db", hall.db_path, "--to", copy)
    assert result.exit_code == 0, result.output

    def tickets(path: Path) -> list[tuple[object, ...]]:
        conn = sqlite3.connect(path)
        try:
            return conn.execute("select * from tickets order by id").fetchall()
        finally:
            conn.close()

    assert len(tickets(copy)) == 5 and tickets(copy) == tickets(hall.db_path)
    conn = sqlite3.connect(copy)
    assert conn.execute("pragma integrity_check").fetchone()[0] == "ok"
    conn.close()
    # the hall carries on meanwhile, and a second backup will not overwrite the first
    await hall.api("POST", "/api/v1/tickets", hall.tokens["kiosk"], {"matter": "CBDJ"}, status=201)
    again = hallctl("backup", "--db", hall.db_path, "--to", copy)
    assert again.exit_code != 0 and "exists" in again.stderr
    assert len(tickets(copy)) == 5
