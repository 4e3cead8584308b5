"""A throwaway PostgreSQL server for tests and benchmarks: the distribution's own ``postgres``.

On Debian, ``apt-get install postgresql`` puts the server under
``/usr/lib/postgresql/<version>/bin``. :class:`PostgresServer` makes a new cluster in a
temporary folder (``initdb``) and runs ``postgres`` on a free loopback port, as an
unprivileged user when started by root (PostgreSQL refuses to run as root): the
``postgres`` system user if there is one, else ``nobody``. Its superuser is ``databay``
with a random password; connections over TCP need it::

    from databay_sql.testing import PostgresServer

    with PostgresServer() as server:      # stopped, and its folder removed, on exit
        url = server.create_database("shop")   # postgresql+psycopg://databay:...@127.0.0.1:PORT/shop

:func:`server_for_tests` does the same unless ``$DATABAY_TEST_POSTGRES_URL`` names a server
to use instead (an SQLAlchemy URL of a role that may create databases and roles).
:class:`PostgresAdmin` is what both give: databases and roles to create and drop.
Nothing here imports pytest. The server is tuned for tests (``fsync=off``): never keep data
in it.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import re
import secrets
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import sqlalchemy as sa
from databay.testing import ManagedServer, ServerProcess, accepts_connections, free_port
from sqlalchemy.engine import URL, make_url

__all__ = ["POSTGRES_PACKAGE", "TEST_URL_VARIABLE", "PostgresAdmin", "PostgresServer", "external_test_url",
           "find_postgres", "free_port", "postgres_missing_reason", "server_for_tests"]

TEST_URL_VARIABLE = "DATABAY_TEST_POSTGRES_URL"
"""Set by test runners that provide their own PostgreSQL server."""

POSTGRES_PACKAGE = "postgresql"
"""The Debian package with the server."""

DRIVER = "postgresql+psycopg"
_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def find_postgres() -> Path | None:
    """The folder of the ``postgres`` and ``initdb`` binaries: the newest under
    ``/usr/lib/postgresql`` (Debian), else the one on ``PATH``; ``None`` if there is none."""
    def version(path: str) -> tuple[int, ...]:
        number = Path(path).parent.parent.name
        return tuple(int(part) for part in number.split(".") if part.isdigit())

    for postgres in sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"), key=version, reverse=True):
        folder = Path(postgres).parent
        if (folder / "initdb").exists():
            return folder
    found = shutil.which("postgres")
    if found and shutil.which("initdb"):
        return Path(found).parent
    return None


def external_test_url() -> str | None:
    """The URL of an externally provided test server (``$DATABAY_TEST_POSTGRES_URL``), if any."""
    return os.environ.get(TEST_URL_VARIABLE) or None


def postgres_missing_reason() -> str | None:
    """Why no PostgreSQL server can be had for tests, or ``None`` when one can."""
    if external_test_url() is not None or find_postgres() is not None:
        return None
    return (f"PostgreSQL is not installed (Debian package '{POSTGRES_PACKAGE}'), and ${TEST_URL_VARIABLE} "
            f"names no server")


class PostgresAdmin:
    """Administration of a PostgreSQL server through a superuser's (or a database creator's) URL.

    :param url: An SQLAlchemy URL, e.g. ``postgresql+psycopg://databay:pw@127.0.0.1:5432/postgres``.
    """

    def __init__(self, url: str | URL):
        self.admin_url = make_url(url)

    @property
    def url(self) -> str:
        """The administration URL, password included (for tests only)."""
        return self.admin_url.render_as_string(hide_password=False)

    def url_for(self, database: str, username: str | None = None, password: str | None = None) -> str:
        """The URL of ``database`` on this server, as the admin or as ``username``/``password``."""
        url = self.admin_url.set(database=database)
        if username is not None:
            url = url.set(username=username, password=password)
        return url.render_as_string(hide_password=False)

    def execute(self, *statements: str, database: str | None = None) -> None:
        """Run ``statements`` outside a transaction (as ``CREATE DATABASE`` needs)."""
        url = self.admin_url if database is None else self.admin_url.set(database=database)
        engine = sa.create_engine(url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
        try:
            with engine.connect() as connection:
                for statement in statements:
                    connection.exec_driver_sql(statement)
        finally:
            engine.dispose()

    def create_database(self, name: str) -> str:
        """Create an empty database ``name`` (dropping one of that name first); its admin URL."""
        _check(name)
        self.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"')
        return self.url_for(name)

    def drop_database(self, name: str) -> None:
        """Drop database ``name``, closing whatever connections it still has."""
        _check(name)
        self.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def create_role(self, name: str, password: str) -> None:
        """Create (or re-create) a login role without any privilege but to connect."""
        _check(name)
        self.execute(f'DROP ROLE IF EXISTS "{name}"', f"CREATE ROLE \"{name}\" LOGIN PASSWORD '{_quoted(password)}'")

    def drop_role(self, name: str) -> None:
        """Drop role ``name`` (what it owns must have been dropped)."""
        _check(name)
        self.execute(f'DROP ROLE IF EXISTS "{name}"')


class PostgresServer(PostgresAdmin, ManagedServer):
    """One PostgreSQL server process on ``host:port`` with a cluster of its own in a temporary folder.

    :param port: Port to listen on; ``None`` picks a free one.
    :param host: Loopback address to bind.
    :param bin_dir: Folder of ``initdb`` and ``postgres`` (default: :func:`find_postgres`).
    :param run_as: System user to run the server as when this process is root (default:
        ``postgres`` if it exists, else ``nobody``); ignored for other users.
    :param startup_timeout: Seconds to wait for the server to accept connections.
    """

    superuser = "databay"

    def __init__(self, port: int | None = None, host: str = "127.0.0.1", bin_dir: str | os.PathLike | None = None,
                 run_as: str | None = None, startup_timeout: float = 60.0):
        found = Path(bin_dir) if bin_dir is not None else find_postgres()
        if found is None:
            raise RuntimeError(f"PostgreSQL is not installed: apt-get install {POSTGRES_PACKAGE}")
        self.bin_dir = found
        self.host = host
        self.port = port if port is not None else free_port(host)
        self.password = secrets.token_urlsafe(18)
        self.startup_timeout = startup_timeout
        self._account = _unprivileged_account(run_as) if os.geteuid() == 0 else None
        self._process: ServerProcess | None = None
        self._workdir: Path | None = None
        super().__init__(URL.create(DRIVER, username=self.superuser, password=self.password, host=host,
                                    port=self.port, database="postgres"))

    @property
    def running(self) -> bool:
        """Whether the server process is alive."""
        return self._process is not None and self._process.running

    def start(self) -> str:
        """Create the cluster, start the server and wait until it accepts connections; the admin URL.

        :raises RuntimeError: ``initdb`` or ``postgres`` failed, with their output.
        """
        if self.running:
            return self.url
        if self._workdir is None:
            self._workdir = Path(tempfile.mkdtemp(prefix="databay-postgres-"))
            self._initdb()
        options = self._process_options()
        command = [str(self.bin_dir / "postgres"), "-D", str(self._workdir / "data"), "-h", self.host,
                   "-p", str(self.port), "-k", str(self._workdir), "-c", "fsync=off", "-c", "synchronous_commit=off",
                   "-c", "full_page_writes=off"]
        self._process = ServerProcess(command, port=self.port, host=self.host, name="postgres",
                                      ready=self._accepts_login, log_file=self._workdir / "server.log",
                                      stop_signal=signal.SIGINT,  # fast shutdown: roll back, close sessions
                                      stop_timeout=30, startup_timeout=self.startup_timeout, cwd=options["cwd"],
                                      env=options["env"], user=options.get("user"), group=options.get("group"))
        try:
            self._process.start()
        except RuntimeError:
            self.stop()
            raise
        return self.url

    def _initdb(self) -> None:
        assert self._workdir is not None
        password_file = self._workdir / "password"
        password_file.write_text(self.password + "\n")
        if self._account is not None:
            for path in (self._workdir, password_file):
                os.chown(path, self._account.pw_uid, self._account.pw_gid)
        data = self._workdir / "data"
        initdb = subprocess.run([str(self.bin_dir / "initdb"), "-D", str(data), "-U", self.superuser, "--pwfile",
                                 str(password_file), "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8",
                                 "--locale=C", "--no-sync"], capture_output=True, text=True, timeout=120,
                                **self._process_options())
        if initdb.returncode != 0:
            self.stop()
            raise RuntimeError(f"initdb failed: {(initdb.stdout + initdb.stderr)[-2000:]}")

    def _process_options(self) -> dict:
        """How the server's processes run: in its folder, as the unprivileged account if root."""
        options: dict = {"cwd": self._workdir,
                         "env": {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C", "TZ": "UTC"}}
        if self._account is not None:
            options.update(user=self._account.pw_uid, group=self._account.pw_gid, extra_groups=[])
        return options

    def _accepts_login(self) -> bool:
        if not accepts_connections(self.host, self.port):
            return False
        try:
            self.execute("SELECT 1")
        except sa.exc.OperationalError:  # still starting up
            return False
        return True

    def stop(self, keep_data: bool = False) -> None:
        """Stop the server (fast shutdown) and remove its folder, data included, unless
        ``keep_data``: then :meth:`start` runs it again with the same data, port and password."""
        process, self._process = self._process, None
        if process is not None:
            process.stop()
        if self._workdir is not None and not keep_data:
            shutil.rmtree(self._workdir, ignore_errors=True)
            self._workdir = None


@contextlib.contextmanager
def server_for_tests() -> Iterator[PostgresAdmin]:
    """A PostgreSQL server for the ``with`` block: the one at ``$DATABAY_TEST_POSTGRES_URL``
    when it is set, else a :class:`PostgresServer` started now and stopped at the end.

    :raises RuntimeError: neither is available (see :func:`postgres_missing_reason`).
    """
    external = external_test_url()
    if external is not None:
        yield PostgresAdmin(external)
        return
    with PostgresServer() as server:
        yield server


def _unprivileged_account(name: str | None) -> pwd.struct_passwd:
    for candidate in [name] if name else ["postgres", "nobody"]:
        try:
            return pwd.getpwnam(candidate)
        except KeyError:
            continue
    raise RuntimeError(f"no system user {name or 'postgres or nobody'} to run PostgreSQL as (it refuses root)")


def _check(name: str) -> None:
    if not _NAME.match(name):
        raise ValueError(f"not a plain lowercase SQL name: {name!r}")


def _quoted(text: str) -> str:
    return text.replace("'", "''")
