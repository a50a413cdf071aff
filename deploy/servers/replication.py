"""PostgreSQL streaming replication on loopback, as RDS runs it: a synchronous hot standby
(Multi-AZ) and asynchronous read replicas, built with pg_basebackup and steered with
ALTER SYSTEM, so every change here is a runtime change PostgreSQL itself makes durable."""

import shutil
import subprocess
import time

from deploy.servers.postgres import POSTGRES_BIN, Postgres, as_postgres

# Every node of a replicated cluster runs with these (on the command line: they never change).
REPLICATED_SETTINGS = {
    # A commit returns only once the synchronous standby has flushed it, as on RDS Multi-AZ.
    "synchronous_commit": "on",
    # pg_basebackup from a standby (the read replica's source) needs full-page writes.
    "full_page_writes": "on",
    # A replica stopped for a while catches up by streaming instead of a new base backup.
    "wal_keep_size": "256MB",
    # A standby whose upstream changed (failover, rebuild) reconnects within half a second.
    "wal_retrieve_retry_interval": "500ms",
    # Queries counted per node (loaded by default on RDS too).
    "shared_preload_libraries": "pg_stat_statements",
}


def replicated_node(directory, port: int) -> Postgres:
    return Postgres(directory, port, settings=REPLICATED_SETTINGS)


def standby_create(node: Postgres, *, upstream: Postgres, name: str) -> Postgres:
    """A new hot standby in `node` (any data there is discarded): a base backup of
    `upstream`, started streaming from it under the application_name `name`."""
    node.stop()
    node.prepare_directory()
    shutil.rmtree(node.data, ignore_errors=True)
    subprocess.run(
        as_postgres(
            [str(POSTGRES_BIN / "pg_basebackup"), "-h", "127.0.0.1", "-p", str(upstream.port)]
            + ["-U", "postgres", "-D", str(node.data), "-R", "-X", "stream", "--no-sync"]
            # An immediate checkpoint: the default spreads it over minutes.
            + ["--checkpoint", "fast"]
            + ["-d", f"application_name={name}"]
        ),
        check=True,
        capture_output=True,
    )
    return node.start()


def promote(node: Postgres) -> None:
    """The standby becomes a primary (a new timeline); it forgets its old upstream."""
    node.pg_ctl("promote")
    node.query("ALTER SYSTEM RESET primary_conninfo")
    node.query("SELECT pg_reload_conf()")


def synchronous_standby_set(primary: Postgres, name: str) -> None:
    """Commits on `primary` wait for the standby `name`; "" lets them return without one
    (with a synchronous standby named that is gone, every commit would wait forever)."""
    primary.query("ALTER SYSTEM SET synchronous_standby_names = %s", (name,))
    primary.query("SELECT pg_reload_conf()")


def upstream_set(node: Postgres, *, upstream: Postgres, name: str) -> None:
    """The standby streams from `upstream` from now on (a reload restarts its receiver)."""
    conninfo = f"host=127.0.0.1 port={upstream.port} user=postgres application_name={name}"
    node.query("ALTER SYSTEM SET primary_conninfo = %s", (conninfo,))
    node.query("SELECT pg_reload_conf()")


def apply_delay_set(node: Postgres, seconds: float) -> None:
    """recovery_min_apply_delay: the standby receives WAL at once but replays each commit
    only `seconds` after it happened, which makes replication lag visible on demand."""
    node.query("ALTER SYSTEM SET recovery_min_apply_delay = %s", (f"{int(seconds * 1000)}ms",))
    node.query("SELECT pg_reload_conf()")


def apply_delay(node: Postgres) -> float:
    (value,) = node.query(
        "SELECT setting::float / 1000 FROM pg_settings WHERE name = %s",
        ("recovery_min_apply_delay",),
    )[0]
    return value


def downstreams(node: Postgres) -> dict[str, dict]:
    """The standbys streaming from `node`: {application_name: state, sync_state, replay lag
    in bytes (from `node`'s own position) and seconds (PostgreSQL's replay_lag)}."""
    rows = node.query(
        "SELECT application_name, state, sync_state, "
        "(CASE WHEN pg_is_in_recovery() THEN pg_last_wal_receive_lsn() "
        "ELSE pg_current_wal_lsn() END) - replay_lsn, "
        "COALESCE(EXTRACT(EPOCH FROM replay_lag), 0)::float FROM pg_stat_replication"
    )
    return {
        name: {"state": state, "sync": sync, "lag_bytes": int(lag_bytes or 0), "lag_s": lag_s}
        for name, state, sync, lag_bytes, lag_s in rows
    }


def wait_streaming(upstream: Postgres, name: str, *, sync: bool, timeout: float = 30) -> None:
    """Wait until the standby `name` streams from `upstream` (as the synchronous one if
    `sync`): poll pg_stat_replication rather than sleeping."""
    deadline = time.monotonic() + timeout
    while True:
        row = downstreams(upstream).get(name)
        if row and row["state"] == "streaming" and (row["sync"] == "sync") == sync:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"{name} is not streaming from port {upstream.port}: {row}")
        time.sleep(0.02)


def wait_replayed(node: Postgres, lsn: int, timeout: float = 30) -> None:
    """Wait until the standby `node` has replayed the WAL up to `lsn`."""
    deadline = time.monotonic() + timeout
    while replay_position(node) < lsn:
        if time.monotonic() > deadline:
            raise TimeoutError(f"port {node.port} has not replayed {lsn} after {timeout} s")
        time.sleep(0.02)


def in_recovery(node: Postgres) -> bool:
    return node.query("SELECT pg_is_in_recovery()")[0][0]


def current_position(primary: Postgres) -> int:
    """The primary's WAL insert position, in bytes."""
    return int(primary.query("SELECT pg_current_wal_insert_lsn() - '0/0'::pg_lsn")[0][0])


def replay_position(node: Postgres) -> int:
    """How far a standby has replayed, in bytes."""
    return int(node.query("SELECT pg_last_wal_replay_lsn() - '0/0'::pg_lsn")[0][0] or 0)
