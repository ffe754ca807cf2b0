"""What the topology steps did: one ``topology_run`` row per handler run (``tests/production_topology.py``).

A row names the step, the message's key, its trace, the process that ran it and, for FIFO messages, the
group and sequence number; rows are numbered in the order their runs committed.
"""

from __future__ import annotations

import os

from django.db import connection

TABLE = "topology_run"

SCHEMA = f"""
CREATE TABLE {TABLE} (
    id bigserial PRIMARY KEY,
    step text NOT NULL,
    key text NOT NULL,
    trace_id text NOT NULL,
    process text NOT NULL,
    grp text NOT NULL DEFAULT '',
    seq integer,
    at timestamptz NOT NULL DEFAULT clock_timestamp()
)
"""


def record(step: str, key: str, trace_id: str, *, group: str = "", seq: int | None = None) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {TABLE} (step, key, trace_id, process, grp, seq) VALUES (%s, %s, %s, %s, %s, %s)",
                       [step, key, trace_id, os.environ.get("TOPOLOGY_PROCESS", ""), group, seq])
