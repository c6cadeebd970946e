"""Named migrations (sqlite-utils ``Migrations``): each runs once, in order, recorded in the file itself.

Never edit a migration that has shipped; add a new one. ``open_db`` applies what is pending.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import sqlite_utils
from sqlite_utils.migrations import Migrations

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
