"""The access record's tables (``m009_access_log``): the statements that write it and the read the audit
report makes of it.

``access_addresses`` holds one row per token and client address (first and last seen, uses);
``access_refusals`` one row per request refused because the token's role may not use the endpoint. The
daemon writes them in batches (hallctl/web/access.py) and keeps each under a row limit, dropping the least
recently seen addresses and the oldest refusals. They are a log, not the journal: not hash-chained, and a
refused request changes nothing else in the file.
"""

from __future__ import annotations

import sqlite3

from hallctl.audit.findings import AddressUse, Refusal

UPSERT_ADDRESS = """
insert into access_addresses (token_id, address, role, name, first_seen, last_seen, uses)
values (?, ?, ?, ?, ?, ?, ?)
on conflict (token_id, address) do update set
    name = excluded.name,
    first_seen = min(first_seen, excluded.first_seen),
    last_seen = max(last_seen, excluded.last_seen),
    uses = uses + excluded.uses
"""
INSERT_REFUSAL = (
    "insert into access_refusals (at, token_id, role, name, address, endpoint) values (?, ?, ?, ?, ?, ?)"
)
# Both keep the newest ``?`` rows. The refusals' ids grow with time, so the cut is one comparison; the
# addresses are cut by last use, through the index on it.
TRIM_REFUSALS = "delete from access_refusals where id <= (select max(id) from access_refusals) - ?"
TRIM_ADDRESSES = (
    "delete from access_addresses where rowid in "
    "(select rowid from access_addresses order by last_seen desc limit -1 offset ?)"
)

_ADDRESSES = """
select token_id, name, role, address, first_seen, last_seen, uses from access_addresses
where token_id in (select token_id from access_addresses where last_seen >= ? and first_seen < ?)
order by token_id, first_seen
"""
_REFUSALS = (
    "select at, token_id, name, role, address, endpoint from access_refusals "
    "where at >= ? and at < ? order by at, id"
)


def read_access(conn: sqlite3.Connection, start: float, end: float) -> tuple[list[AddressUse], list[Refusal]]:
    """Every address of each token used in ``[start, end)`` (its earlier ones too: a new address is told
    from the settled ones by them) and the refusals in the range. A file from before the access record
    has none."""
    try:
        addresses = [
            AddressUse(int(t), str(n), str(r), str(a), float(f), float(last), int(u))
            for t, n, r, a, f, last, u in conn.execute(_ADDRESSES, (start, end))
        ]
        refusals = [
            Refusal(float(at), int(t), str(n), str(r), str(a), str(e))
            for at, t, n, r, a, e in conn.execute(_REFUSALS, (start, end))
        ]
    except sqlite3.OperationalError:  # no such table: a file from before m009_access_log
        return [], []
    return addresses, refusals
