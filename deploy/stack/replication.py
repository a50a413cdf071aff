"""The local stack's data tier, replicated as on AWS, each role reached only through its
endpoint (a TCP port on HAProxy standing for the AWS DNS name), so a failover moves an
endpoint and changes no instance's configuration.

| AWS                                  | here                                                |
|--------------------------------------|-----------------------------------------------------|
| RDS primary + Multi-AZ standby       | pg1 and pg2, streaming; synchronous: a commit       |
|                                      | returns once the standby has flushed it             |
| RDS read replica                     | `replica`: asynchronous hot standby with a settable |
|                                      | apply delay, streaming from the standby             |
| the instance's (writer) endpoint     | `writer` -> the primary                             |
| the read replica's endpoint          | `reader` -> the replica                             |
| ElastiCache primary endpoint         | `redis` -> the Redis primary (redis1 or redis2),    |
|                                      | the other node its asynchronous replica             |

The read replica streams from the standby rather than from the primary: then it can never
hold WAL that the node a failover promotes lacks, so it simply follows the promotion, as an
RDS read replica follows its source through a Multi-AZ failover. After a failover (no
standby) it streams from the new primary until `rebuild-standby` puts a standby back.
"""

from __future__ import annotations

import time
from pathlib import Path

from deploy.servers import Clock, Endpoints, Postgres, Redis
from deploy.servers import replication as pg

PG_NODES = ("pg1", "pg2")  # the Multi-AZ pair: one primary, one synchronous standby
REPLICA = "replica"
REDIS_NODES = ("redis1", "redis2")
ENDPOINTS = ("writer", "reader", "redis")
PORTS = (*PG_NODES, REPLICA, *REDIS_NODES, *ENDPOINTS)
DATABASE = "webshop"


class DataTierError(RuntimeError):
    """Something the operator must act on; the message says what."""


class DataTier:
    """PostgreSQL (pg1, pg2, replica), Redis (redis1, redis2) and their endpoints, in
    `directory` (PostgreSQL's data under `postgres_directory`, which its user can reach)."""

    def __init__(self, directory: Path, postgres_directory: Path, ports: dict, redis_token: str):
        self.directory = directory
        self.postgres_directory = postgres_directory
        self.ports = ports
        self.redis_token = redis_token

    # --- the parts ---------------------------------------------------------------------
    def node(self, name: str) -> Postgres:
        return pg.replicated_node(self.postgres_directory / name, self.ports[name])

    def redis_node(self, name: str, replica_of: str | None = None) -> Redis:
        upstream = self.ports[replica_of] if replica_of else None
        return Redis(self.directory / name, self.ports[name], self.redis_token, upstream)

    @property
    def endpoints(self) -> Endpoints:
        return Endpoints(
            self.directory / "endpoints",
            ports={name: self.ports[name] for name in ENDPOINTS},
            nodes={
                "writer": {name: self.ports[name] for name in PG_NODES},
                "reader": {REPLICA: self.ports[REPLICA]},
                "redis": {name: self.ports[name] for name in REDIS_NODES},
            },
        )

    def targets(self) -> dict[str, str | None]:
        """Where each endpoint points: {"writer": "pg1", "reader": "replica", "redis": ...}."""
        return self.endpoints.targets()

    @property
    def primary_name(self) -> str:
        return self.targets()["writer"]

    @property
    def primary(self) -> Postgres:
        return self.node(self.primary_name)

    @property
    def standby_name(self) -> str:
        """The other node of the pair (running or not)."""
        return next(name for name in PG_NODES if name != self.primary_name)

    @property
    def replica(self) -> Postgres:
        return self.node(REPLICA)

    @property
    def redis_primary_name(self) -> str:
        return self.targets()["redis"]

    @property
    def redis(self) -> Redis:
        return self.redis_node(self.redis_primary_name)

    def urls(self) -> dict[str, str]:
        """What an instance's env file gets: every role through its endpoint only."""
        return {
            "DATABASE_URL": f"postgres://postgres@127.0.0.1:{self.ports['writer']}/{DATABASE}",
            "DATABASE_REPLICA_URL": (
                f"postgres://postgres@127.0.0.1:{self.ports['reader']}/{DATABASE}"
            ),
            "REDIS_URL": f"redis://:{self.redis_token}@127.0.0.1:{self.ports['redis']}/0",
        }

    def pidfiles(self) -> list[Path]:
        return [
            *(self.node(name).data / "postmaster.pid" for name in (*PG_NODES, REPLICA)),
            *(self.redis_node(name).pidfile for name in REDIS_NODES),
            self.endpoints.pidfile,
        ]

    # --- up and down ---------------------------------------------------------------------
    def start(self) -> None:
        """pg1 primary with pg2 its synchronous standby and the replica behind pg2; redis1
        primary with redis2 its replica; the endpoints pointing at pg1, replica, redis1."""
        primary = self.node("pg1").start()
        primary.create_database(DATABASE)
        primary.query("CREATE EXTENSION pg_stat_statements", database=DATABASE)
        self._standby_attach("pg2", primary)
        pg.standby_create(self.replica, upstream=self.node("pg2"), name=REPLICA)
        pg.wait_streaming(self.node("pg2"), REPLICA, sync=False)
        self.redis_node("redis1").start()
        self._redis_replica_start("redis2", "redis1")
        self.endpoints.start()

    def stop(self) -> None:
        self.endpoints.stop()
        for name in REDIS_NODES:
            self.redis_node(name).stop()
        for name in (REPLICA, *PG_NODES):
            self.node(name).stop()

    # --- PostgreSQL ----------------------------------------------------------------------
    def failover_postgres(self) -> dict[str, float]:
        """What RDS does when the primary's host fails: the primary dies (SIGKILL), the
        synchronous standby is promoted, the writer endpoint moves to it. Until
        `rebuild_standby`, the new primary runs without a standby: it must not wait for
        one, so it names none. Returns each phase's seconds."""
        old, new = self.primary, self.node(self.standby_name)
        if new.pid() is None or not pg.in_recovery(new):
            raise DataTierError(
                "No standby to fail over to (the last failover left none): "
                "run `rebuild-standby` first."
            )
        clock = Clock()
        old.kill()
        clock.lap("killed")
        pg.promote(new)
        pg.synchronous_standby_set(new, "")
        clock.lap("promoted")
        self.endpoints.point("writer", self.standby_name)
        clock.lap("endpoint moved")
        return clock.laps

    def rebuild_standby(self) -> dict[str, float]:
        """A new synchronous standby where the dead primary was: a base backup of the
        current primary. The read replica then streams from it again. Returns the phases."""
        primary, name = self.primary, self.standby_name
        if self.node(name).pid() is not None and pg.in_recovery(self.node(name)):
            raise DataTierError(f"{name} already runs as the standby of {self.primary_name}.")
        clock = Clock()
        self._standby_attach(name, primary)
        clock.lap("standby synchronous")
        if self.replica.pid() is not None:
            pg.upstream_set(self.replica, upstream=self.node(name), name=REPLICA)
            pg.wait_streaming(self.node(name), REPLICA, sync=False)
            clock.lap("replica moved")
        return clock.laps

    def _standby_attach(self, name: str, primary: Postgres) -> None:
        pg.standby_create(self.node(name), upstream=primary, name=name)
        pg.wait_streaming(primary, name, sync=False)
        pg.synchronous_standby_set(primary, name)
        pg.wait_streaming(primary, name, sync=True)

    def stop_primary(self) -> None:
        self.primary.stop()

    def start_primary(self) -> None:
        self.primary.start()

    def replica_delay(self, seconds: float) -> None:
        pg.apply_delay_set(self.replica, seconds)

    def stop_replica(self) -> None:
        self.replica.stop()

    def start_replica(self) -> None:
        """Start the replica again; it catches up by streaming from where it stopped."""
        if self.replica.pid() is None:
            self.replica.start()

    # --- Redis ---------------------------------------------------------------------------
    def failover_redis(self) -> dict[str, float]:
        """What ElastiCache does when the primary node fails: it dies (SIGKILL; writes it
        had not yet sent are lost), the replica is promoted, the primary endpoint moves to
        it; then a replacement node joins as the new replica. Returns each phase's seconds."""
        old = self.redis_primary_name
        new = next(name for name in REDIS_NODES if name != old)
        clock = Clock()
        self.redis_node(old).kill()
        clock.lap("killed")
        self.redis_node(new).promote()
        clock.lap("promoted")
        self.endpoints.point("redis", new)
        clock.lap("endpoint moved")
        self._redis_replica_start(old, new)
        clock.lap("replacement replica in sync")
        return clock.laps

    def restart_redis(self) -> None:
        """Stop and start the Redis primary: it comes back empty, and so does its replica
        (a replica mirrors its primary)."""
        primary = self.redis
        primary.stop()
        primary.start()

    def _redis_replica_start(self, name: str, primary: str, timeout: float = 15) -> None:
        replica = self.redis_node(name, replica_of=primary).start()
        deadline = time.monotonic() + timeout
        while replica.replication().get("master_link_status") != "up":
            if time.monotonic() > deadline:
                raise TimeoutError(f"{name} did not sync with {primary} within {timeout} s")
            time.sleep(0.02)

    # --- status --------------------------------------------------------------------------
    def status(self) -> list[str]:
        """Each node's role and replication lag, and where each endpoint points."""
        targets = self.targets()
        lines = []
        primary = self.node(targets["writer"])
        primary_position = _quiet(lambda: pg.current_position(primary))
        upstreams = {}  # standby name -> what its upstream reports about it
        for name in (*PG_NODES, REPLICA):
            for downstream, row in (
                _quiet(lambda n=name: pg.downstreams(self.node(n))) or {}
            ).items():
                upstreams[downstream] = {**row, "upstream": name}
        for name in (*PG_NODES, REPLICA):
            lines.append(
                f"  PostgreSQL {name:<8} 127.0.0.1:{self.ports[name]:<6} "
                + self._node_state(name, targets, primary_position, upstreams)
            )
        for name in REDIS_NODES:
            lines.append(
                f"  Redis      {name:<8} 127.0.0.1:{self.ports[name]:<6} "
                + self._redis_state(name, targets)
            )
        lines.append(
            "  Endpoints  "
            + ", ".join(
                f"{endpoint} 127.0.0.1:{self.ports[endpoint]} -> {targets[endpoint] or 'NOTHING'}"
                for endpoint in ENDPOINTS
            )
        )
        return lines

    def _node_state(self, name, targets, primary_position, upstreams) -> str:
        node = self.node(name)
        if node.pid() is None:
            return "STOPPED"
        recovering = _quiet(lambda: pg.in_recovery(node))
        if recovering is None:
            return "NOT ANSWERING"
        if not recovering:
            return "primary" + (" (writer)" if targets["writer"] == name else " (NOT the writer)")
        role = "read replica" if name == REPLICA else "standby"
        seen = upstreams.get(name)
        if seen is None:
            return f"{role}, NOT STREAMING"
        replayed = _quiet(lambda: pg.replay_position(node))
        lag_bytes = (
            f"{primary_position - replayed:,} B"
            if primary_position is not None and replayed is not None
            else "?"
        )
        delay = _quiet(lambda: pg.apply_delay(node)) if name == REPLICA else 0
        return (
            f"{role}, {seen['sync']}, {seen['state']} from {seen['upstream']}: "
            f"lag {lag_bytes}, {seen['lag_s']:.1f} s"
            + (f" (apply delay {delay:g} s)" if delay else "")
        )

    def _redis_state(self, name, targets) -> str:
        node = self.redis_node(name)
        if node.pid() is None:
            return "STOPPED"
        info = _quiet(node.replication)
        if info is None:
            return "NOT ANSWERING"
        if info["role"] == "master":
            replicas = [info[key] for key in info if key.startswith("slave")]
            lags = ", ".join(
                f"replica at port {r['port']} {r['state']}: lag "
                f"{info['master_repl_offset'] - r['offset']:,} B, {r['lag']} s"
                for r in replicas
            )
            endpoint = " (primary endpoint)" if targets["redis"] == name else " (NOT the endpoint)"
            return f"primary{endpoint}" + (f"; {lags}" if lags else "; no replica")
        return f"replica, link {info.get('master_link_status')}"


def _quiet(probe):
    """A status probe's answer, or None when the node does not answer it."""
    try:
        return probe()
    except Exception:
        return None
