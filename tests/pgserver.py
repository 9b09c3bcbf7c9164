"""A throwaway PostgreSQL server for the tests and bench/: Debian's binaries, a temporary
folder, 127.0.0.1 on a free port, stopped (and its folder removed) whatever happens.

initdb and pg_ctl refuse to run as root, so as root they run as the `postgres` user
(`runuser`), in a folder that user owns. `.ci/run` installs the `postgresql` package.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass

SUPERUSER = "nsm_admin"  # trusted over the local socket only
READER = "nsm_reader"  # logs in over TCP with a password (scram-sha-256)
READER_PASSWORD = "s3cr3t-Pa55-word!"  # only ever given through the environment
DATABASE = "sales"


def binaries() -> str | None:
    """The newest installed PostgreSQL's bin folder (Debian keeps them per version)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: int(p.split("/")[-3]) if p.split("/")[-3].isdigit() else 0)
    return os.path.dirname(found[-1]) if found else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    folder: str
    port: int
    bindir: str
    user: str | None  # run the binaries as this user (None: as ourselves)

    @property
    def data(self) -> str:
        return os.path.join(self.folder, "data")

    def url(self, password: str = "${NSM_TEST_PG_PASSWORD}", user: str = READER) -> str:
        return f"postgresql://{user}:{password}@127.0.0.1:{self.port}/{DATABASE}"

    def admin(self, dbname: str = DATABASE) -> str:
        """A libpq conninfo for the superuser over the unix socket."""
        return f"host={self.folder} port={self.port} user={SUPERUSER} dbname={dbname}"

    def _run(self, *args: str) -> None:
        command = [os.path.join(self.bindir, args[0]), *args[1:]]
        if self.user:
            command = ["runuser", "-u", self.user, "--", *command]
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, timeout=120)

    def start(self) -> None:
        self._run("initdb", "-D", self.data, "-U", SUPERUSER, "--auth-local=trust",
                  "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C", "--no-sync")
        options = (f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 "
                   "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
                   "-c max_connections=20 -c shared_buffers=128MB")
        self._run("pg_ctl", "-D", self.data, "-o", options, "-l",
                  os.path.join(self.folder, "log"), "-w", "-t", "60", "start")

    def stop(self) -> None:
        with contextlib.suppress(subprocess.SubprocessError, OSError):
            self._run("pg_ctl", "-D", self.data, "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.folder, ignore_errors=True)


def start_server() -> Server:
    """A running server with the `sales` database and a reader role (password login)."""
    bindir = binaries()
    if bindir is None:
        raise RuntimeError("PostgreSQL is not installed: apt-get install postgresql "
                           "(.ci/run does this on a fresh machine)")
    folder = tempfile.mkdtemp(prefix="nsm-pg-")
    user = None
    if os.geteuid() == 0:
        user = "postgres"
        entry = pwd.getpwnam(user)
        os.chown(folder, entry.pw_uid, entry.pw_gid)
    server = Server(folder, free_port(), bindir, user)
    try:
        server.start()
        import psycopg

        with psycopg.connect(server.admin("postgres"), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {DATABASE}")
            conn.execute(f"CREATE ROLE {READER} LOGIN PASSWORD '{READER_PASSWORD}'")
        with psycopg.connect(server.admin(), autocommit=True) as conn:
            conn.execute(f"GRANT pg_read_all_data TO {READER}")
    except BaseException:
        server.stop()
        raise
    return server
