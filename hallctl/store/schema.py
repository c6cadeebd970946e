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


@migrations()
def m008_stats_rollups(db: sqlite_utils.Database) -> None:
    """Per-day and per-month rollups of the figures (hallctl/store/rollups.py, docs/stats.md), so a year of
    stats merges a few hundred rows instead of reading a million tickets. ``stats_days`` and
    ``stats_months`` say which periods are rolled up; a change to a rolled-up day's ticket or a late rating
    removes the day (and its month) from them, so the figures fall back to the tickets until it is rebuilt."""
    db.execute(
        """
        create table stats_rollups (
            grain text not null,              -- day | month | head (days 1..d) | tail (days d..last)
            dimension text not null,          -- '' (the whole hall), matter, window, clerk, channel, hour
            period text not null,             -- 2026-03-02 | 2026-03 (month) | d (head, tail)
            key text not null,                -- the group ('' for the hall, or for no window/clerk)
            issued integer not null,
            served integer not null,
            no_show integer not null,
            voided integer not null,
            within_target integer not null,
            rating_1 integer not null,
            rating_2 integer not null,
            rating_3 integer not null,
            rating_4 integer not null,
            rating_5 integer not null,
            unrated integer not null,
            wait_count integer not null,
            wait_ms integer not null,
            wait_max real,
            wait_p50 real,                    -- exact, days only
            wait_p90 real,
            wait_bins blob,                   -- log-linear histogram (hallctl/core/histogram.py)
            service_count integer not null,
            service_ms integer not null,
            service_max real,
            service_p50 real,
            service_p90 real,
            service_bins blob,
            primary key (grain, dimension, period, key)
        ) without rowid
        """
    )
    db.execute(
        "create table stats_days (day text primary key, tickets integer not null, built_at real not null)"
    )
    db.execute("create table stats_months (month text primary key, built_at real not null)")
    db.execute(
        "create table stats_spans (month text primary key, heads_through text, tails_from text, "
        "built_at real not null)"
    )
    # The common update (today's ticket) costs one probe of the small stats_days table.
    db.execute(
        """
        create trigger tickets_stats_stale after update on tickets
        when exists (select 1 from stats_days where day = new.day)
        begin
            delete from stats_days where day = new.day;
            delete from stats_months where month = substr(new.day, 1, 7);
            delete from stats_spans where month = substr(new.day, 1, 7);
        end
        """
    )
    db.execute(
        """
        create trigger ratings_stats_stale after insert on ratings
        begin
            delete from stats_days where day = (select day from tickets where id = new.ticket);
            delete from stats_months
            where month = (select substr(day, 1, 7) from tickets where id = new.ticket);
            delete from stats_spans
            where month = (select substr(day, 1, 7) from tickets where id = new.ticket);
        end
        """
    )


@migrations()
def m009_access_log(db: sqlite_utils.Database) -> None:
    """The access record (hallctl/audit/access_log.py): where each token was used from, and the requests
    refused because its role may not use the endpoint. A log for the endpoint rules, not the journal."""
    db.execute(
        """
        create table access_addresses (
            token_id integer not null,
            address text not null,
            role text not null,
            name text not null,
            first_seen real not null,
            last_seen real not null,
            uses integer not null,
            primary key (token_id, address)
        )
        """
    )
    db.execute("create index access_addresses_last_seen on access_addresses (last_seen)")
    db.execute(
        """
        create table access_refusals (
            id integer primary key,
            at real not null,
            token_id integer not null,
            role text not null,
            name text not null,
            address text not null,
            endpoint text not null
        )
        """
    )
    db.execute("create index access_refusals_at on access_refusals (at)")


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
