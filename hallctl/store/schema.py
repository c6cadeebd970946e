"""Named migrations (sqlite-utils ``Migrations``): each runs once, in order, recorded in the file itself.

Never edit a migration that has shipped; add a new one. ``open_db`` applies what is pending.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import sqlite_utils
from sqlite_utils.migrations import Migrations

from hallctl.audit.chain import CONTENT_COLUMNS, ChainHead, content, link

migrations = Migrations("hallctl")


@migrations()
def m001_tickets(db: sqlite_utils.Database) -> None:
    db.execute(
        """
        create table tickets (
            id integer primary key,
            number text not null,
            prefix text not null,
            seq integer not null,
            day text not null,
            matters text not null,            -- JSON list of matter codes
            channel text not null,
            issued_at real not null,
            track_token text not null unique,
            state text not null,
            queue_key real not null,
            window integer,
            target_window integer,
            clerk text,
            called_at real,
            first_called_at real,
            started_at real,
            finished_at real,
            recalls integer not null default 0,
            no_show_at real,
            no_show_returns integer not null default 0,
            transfers integer not null default 0,
            bypassed integer not null default 0,
            outcome text,
            credit_code text,
            appointment_code text,
            appointment_start real,
            issued_by text not null default '',
            -- the last line of defence: a number is never issued twice on one day
            unique (day, prefix, seq)
        )
        """
    )
    db.execute("create index tickets_state on tickets (state)")
    db.execute("create index tickets_issued_at on tickets (issued_at)")


@migrations()
def m002_windows_and_appointments(db: sqlite_utils.Database) -> None:
    db.execute(
        """
        create table windows (
            id integer primary key,
            kind text not null,
            name text not null,
            zone text not null,
            state text not null,
            clerk text,
            current integer,
            profile_name text not null,
            profile text not null,            -- JSON of the profile in force
            idle_since real not null,
            day text not null
        )
        """
    )
    db.execute(
        """
        create table appointments (
            code text primary key,
            matters text not null,
            slot_start real not null,
            slot_end real not null,
            name text not null default '',
            created_at real not null,
            created_by text not null,
            state text not null,
            ticket integer
        )
        """
    )


@migrations()
def m003_journal(db: sqlite_utils.Database) -> None:
    db.execute(
        """
        create table journal (
            seq integer primary key autoincrement,
            at real not null,
            actor text not null,
            role text not null,
            action text not null,
            window integer,
            ticket integer,
            before text,
            after text,
            detail text not null default '{}'
        )
        """
    )
    db.execute("create index journal_at on journal (at)")
    db.execute("create index journal_ticket on journal (ticket)")


@migrations()
def m004_tokens(db: sqlite_utils.Database) -> None:
    db.execute(
        """
        create table tokens (
            id integer primary key,
            hash text not null unique,        -- sha256 of the token; the token itself is never stored
            role text not null,
            clerk text,
            name text not null default '',
            created_at real not null,
            revoked_at real
        )
        """
    )


@migrations()
def m005_ratings(db: sqlite_utils.Database) -> None:
    db.execute(
        """
        create table ratings (
            id integer primary key,
            ticket integer not null,
            window integer not null,
            clerk text,
            level integer not null,           -- 5 = 非常满意 … 1 = 非常不满意
            level_name text not null,
            device text not null,
            armed_at real not null,
            rated_at real not null
        )
        """
    )
    db.execute("create index ratings_ticket on ratings (ticket)")
    db.execute("create index ratings_rated_at on ratings (rated_at)")


@migrations()
def m006_journal_chain(db: sqlite_utils.Database) -> None:
    """Chain the journal (hallctl/audit/chain.py): rows written before this migration are sealed here, in
    seq order, so the chain starts with the file's first row. Then the journal refuses updates and deletes
    (a first line of defence only: anyone with the file can drop a trigger; the chain is what tells)."""
    db.execute("alter table journal add column prev_hash text")
    db.execute("alter table journal add column hash text")
    head = ChainHead()
    after = 0
    while True:  # in slices, so a year of journal never sits in memory at once
        columns = ", ".join(CONTENT_COLUMNS)
        rows = db.execute(
            f"select {columns} from journal where seq > ? order by seq limit 10000", [after]
        ).fetchall()
        if not rows:
            break
        sealed = []
        for row in rows:
            prev = head.hash
            digest = link(prev, content(*row))
            head.seq, head.hash = row[0], digest
            sealed.append((prev, digest, row[0]))
        db.conn.executemany("update journal set prev_hash = ?, hash = ? where seq = ?", sealed)
        after = rows[-1][0]
    # The settings each start records (config.change) are looked up by action; a partial index holds
    # just those rows, so it costs the other inserts nothing but a comparison.
    db.execute("create index journal_config on journal (seq) where action = 'config.change'")
    for verb in ("update", "delete"):
        db.execute(
            f"create trigger journal_no_{verb} before {verb} on journal "
            "begin select raise(abort, 'the journal is append-only'); end"
        )


@migrations()
def m007_followups(db: sqlite_utils.Database) -> None:
    """差评整改 cases (hallctl/audit/followups.py): a projection of the journal's ``followup.*`` rows, kept
    by triggers in the same transaction; a case's id is the seq of the row that opened it."""
    db.execute(
        """
        create table followups (
            id integer primary key,           -- the seq of its followup.open journal row
            ticket integer,
            window integer,
            clerk text,
            level integer not null,
            level_name text not null,
            rated_at real not null,
            opened_at real not null,
            due_day text not null,            -- the deadline: the end of this local day
            state text not null,              -- open | called_back | rectified | closed
            callback_at real,
            callback_by text,
            callback_note text,
            rectified_at real,
            rectified_by text,
            rectification text,
            closed_at real,
            closed_by text,
            closing_note text
        )
        """
    )
    db.execute("create index followups_open on followups (state, due_day)")
    db.execute("create index followups_clerk on followups (clerk)")
    db.execute(
        """
        create trigger journal_followup_open after insert on journal when new.action = 'followup.open'
        begin
            insert into followups (id, ticket, window, clerk, level, level_name, rated_at, opened_at, due_day,
                                   state)
            values (new.seq, new.ticket, new.window, json_extract(new.detail, '$.clerk'),
                    json_extract(new.detail, '$.level'), json_extract(new.detail, '$.level_name'),
                    json_extract(new.detail, '$.rated_at'), new.at, json_extract(new.detail, '$.due_day'),
                    new.after);
        end
        """
    )
    for action, columns in (
        ("callback", ("callback_at", "callback_by", "callback_note")),
        ("rectify", ("rectified_at", "rectified_by", "rectification")),
        ("close", ("closed_at", "closed_by", "closing_note")),
    ):
        at, by, text = columns
        db.execute(
            f"""
            create trigger journal_followup_{action} after insert on journal
            when new.action = 'followup.{action}'
            begin
                update followups set state = new.after, {at} = new.at, {by} = new.actor,
                                     {text} = json_extract(new.detail, '$.text')
                where id = json_extract(new.detail, '$.case') and state != 'closed';
            end
            """
        )


def connect(path: Path | str, *, synchronous: str = "FULL") -> sqlite3.Connection:
    """A connection in WAL mode. FULL: a commit is on disk before anyone is told it happened."""
    conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False, timeout=30)
    conn.execute("pragma journal_mode=wal")
    conn.execute(f"pragma synchronous={synchronous}")
    conn.execute("pragma foreign_keys=on")
    conn.execute("pragma busy_timeout=30000")
    return conn


def open_db(path: Path | str) -> sqlite_utils.Database:
    """Open (creating if needed) a hall database and apply pending migrations."""
    db = sqlite_utils.Database(connect(path))
    migrations.apply(db)
    return db
