"""A primary and a streaming standby on loopback, for the read-replica tests.

Apart from the session's cluster (tests/support/postgres.py), whose settings are for speed and
whose databases are many: the primary here is made with WAL for replication, the standby is a
`pg_basebackup -R` of it on another free port, streaming from it. As root, both run as the
`postgres` user (PostgreSQL refuses to run as root). Needs the server binaries, never a
server given by LIG_TEST_POSTGRES_URL: a standby needs a primary it can copy.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tests.support.postgres import _bindir, _free_port


@dataclass
class Pair:
    primary: str  # server URLs without a database name
    standby: str
    stop_standby: Callable[[], None]
    stop: Callable[[], None]


def start_pair() -> Pair:
    bindir = _bindir()
    workdir = Path(tempfile.mkdtemp(prefix="lig-replica-"))
    prefix: list[str] = []
    if os.geteuid() == 0:
        user = pwd.getpwnam("postgres")
        os.chown(workdir, user.pw_uid, user.pw_gid)
        prefix = ["runuser", "-u", "postgres", "--"]

    def run(*args: str) -> str:
        done = subprocess.run([*prefix, *args], check=True, capture_output=True, text=True)
        return done.stdout

    def pg_ctl(datadir: Path, *args: str) -> None:
        run(str(bindir / "pg_ctl"), "-D", str(datadir), *args)

    def options(port: int) -> str:
        # fsync off: the data is thrown away. Replication itself as in production (wal_level
        # replica, WAL senders, hot standby).
        return (
            f"-p {port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={workdir} "
            "-c fsync=off -c wal_level=replica -c max_wal_senders=4 -c hot_standby=on "
            "-c max_connections=100"
        )

    primary, standby = workdir / "primary", workdir / "standby"
    primary_port = _free_port()
    # initdb's pg_hba.conf with --auth=trust lets loopback connections replicate.
    run(
        str(bindir / "initdb"),
        "-D",
        str(primary),
        "-U",
        "postgres",
        "--auth=trust",
        "--no-sync",
        "--encoding=UTF8",
        "--locale=C.UTF-8",
    )
    pg_ctl(primary, "-o", options(primary_port), "-l", str(workdir / "primary.log"), "-w", "start")
    standby_port = _free_port()
    started = [primary]
    try:
        run(
            str(bindir / "pg_basebackup"),
            "-D",
            str(standby),
            "--write-recovery-conf",
            "--wal-method=stream",
            "--checkpoint=fast",
            "--no-sync",
            "-h",
            "127.0.0.1",
            "-p",
            str(primary_port),
            "-U",
            "postgres",
        )
        pg_ctl(
            standby, "-o", options(standby_port), "-l", str(workdir / "standby.log"), "-w", "start"
        )
        started.append(standby)
        _wait_streaming(run, bindir, primary_port)
    except BaseException:
        for datadir in started:
            pg_ctl(datadir, "-m", "immediate", "stop")
        shutil.rmtree(workdir, ignore_errors=True)
        raise

    def stop_standby() -> None:
        if standby.joinpath("postmaster.pid").exists():
            pg_ctl(standby, "-m", "fast", "-w", "stop")

    def stop() -> None:
        for datadir in (standby, primary):
            if datadir.joinpath("postmaster.pid").exists():
                stop_now = [str(bindir / "pg_ctl"), "-D", str(datadir), "-m", "immediate", "stop"]
                subprocess.run([*prefix, *stop_now], capture_output=True)
        shutil.rmtree(workdir, ignore_errors=True)

    return Pair(
        primary=f"postgresql+asyncpg://postgres@127.0.0.1:{primary_port}",
        standby=f"postgresql+asyncpg://postgres@127.0.0.1:{standby_port}",
        stop_standby=stop_standby,
        stop=stop,
    )


def _wait_streaming(run: Callable[..., str], bindir: Path, primary_port: int) -> None:
    psql = [str(bindir / "psql"), "-h", "127.0.0.1", "-p", str(primary_port), "-U", "postgres"]
    query = "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'"
    deadline = time.monotonic() + 30
    while run(*psql, "-Atc", query).strip() != "1":
        if time.monotonic() > deadline:
            raise RuntimeError("the standby did not start streaming within 30 s")
        time.sleep(0.05)
