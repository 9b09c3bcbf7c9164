"""Connections: a URL from the environment → a read-only session on the database.

Every session runs each query in a read-only transaction (or the engine's nearest
equivalent) with a statement timeout. Every message that may hold a driver's text goes
through `Secrets.scrub`, so no password reaches a message, a log, JSON or a traceback
(errors are raised `from None`).
"""

from __future__ import annotations

import contextlib
import os
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, unquote, urlsplit

from nsm_cli.diagnostics import NsmError, Span, error
from nsm_cli.tree.connections import ENV_REFERENCE, SECRET_PARAMETERS
from nsm_cli.tree.model import Connection

DEFAULT_TIMEOUT = 60.0  # seconds a query may run unless the connection says otherwise
CONNECT_TIMEOUT = 10  # seconds to reach a server


@dataclass(frozen=True)
class Scheme:
    """A URL scheme nsm knows: its SQL dialect, its driver module and the extra with it."""

    dialect: str
    module: str
    extra: str
    title: str


SCHEMES: dict[str, Scheme] = {
    "duckdb": Scheme("duckdb", "duckdb", "", "DuckDB"),
    "postgresql": Scheme("postgres", "psycopg", "postgres", "PostgreSQL"),
    "postgres": Scheme("postgres", "psycopg", "postgres", "PostgreSQL"),
    "bigquery": Scheme("bigquery", "google.cloud.bigquery", "warehouse", "BigQuery"),
    "snowflake": Scheme("snowflake", "snowflake.connector", "warehouse", "Snowflake"),
    "trino": Scheme("trino", "trino", "warehouse", "Trino"),
    "spark": Scheme("spark", "pyhive.hive", "warehouse", "Spark SQL"),
    "clickhouse": Scheme("clickhouse", "clickhouse_connect", "warehouse", "ClickHouse"),
}


@dataclass
class Secrets:
    """The secret parts of one URL, to be cut out of any text before it is shown."""

    words: list[str] = field(default_factory=list)

    def scrub(self, text: str) -> str:
        for word in sorted(self.words, key=len, reverse=True):
            if word:
                text = text.replace(word, "***")
        return text


def secrets_of(url: str) -> Secrets:
    """Password and secret query parameters of a URL (raw and %-decoded)."""
    words: list[str] = []
    try:
        parts = urlsplit(url)
        if parts.password:
            words += [parts.password, unquote(parts.password)]
        for key, value in parse_qsl(parts.query, keep_blank_values=True):
            if key.lower() in SECRET_PARAMETERS and value:
                words += [value, unquote(value)]
    except ValueError:
        words.append(url)  # an unparsable URL is shown nowhere
    return Secrets([w for w in words if len(w) >= 1])


def redact(url: str) -> str:
    """The URL with its password and secret parameters replaced by ***."""
    return secrets_of(url).scrub(url)


@dataclass(frozen=True)
class Target:
    """A connection ready to open: scheme, URL (secret), and what messages may name."""

    connection: Connection
    scheme: Scheme
    url: str
    host: str
    database: str
    secrets: Secrets
    timeout: float
    path: str | None = None  # DuckDB: the database file

    @property
    def label(self) -> str:
        return f"database '{self.database}' on {self.host}" if self.host else \
            f"database file {self.database}"


def expand(connection: Connection) -> str:
    """The URL with `${VAR}` read from the environment; E321 for an unset variable."""
    missing = [m.group()[2:-1] for m in ENV_REFERENCE.finditer(connection.url)
               if m.group()[2:-1] not in os.environ]
    if missing:
        raise NsmError([error("E321", f"connection '{connection.name}': environment variable "
                              f"{missing[0]} is not set (or run nsm check --offline)",
                              connection.span)])
    return ENV_REFERENCE.sub(lambda m: os.environ[m.group()[2:-1]], connection.url)


def target(connection: Connection, tree_path: str) -> Target:
    """Everything needed to open a connection, without opening it."""
    url = expand(connection)
    secrets = secrets_of(url)
    scheme_name = url.split("://", 1)[0].lower() if "://" in url else ""
    scheme = SCHEMES.get(scheme_name.split("+", 1)[0])
    if scheme is None:
        known = ", ".join(f"{name}://" for name in SCHEMES if name != "postgres")
        raise NsmError([error("E320", f"connection '{connection.name}': nsm does not know the "
                              f"URL scheme '{secrets.scrub(scheme_name)[:30]}'; use one of "
                              f"{known}", connection.span)])
    timeout = connection.timeout or DEFAULT_TIMEOUT
    if scheme.dialect == "duckdb":
        path = _duckdb_path(connection, url, tree_path)
        return Target(connection, scheme, url, "", path, secrets, timeout, path)
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = None
    host = f"{parts.hostname or 'localhost'}" + (f":{port}" if port else "")
    database = parts.path.lstrip("/") or "(default)"
    return Target(connection, scheme, url, secrets.scrub(host), secrets.scrub(database),
                  secrets, timeout)


def _duckdb_path(connection: Connection, url: str, tree_path: str) -> str:
    """`duckdb:///file.duckdb` is relative to the tree; a path written in the tree must stay
    inside the project (one from the environment is the operator's choice)."""
    from nsm_cli.tree.parser import resolve_data_path

    raw = url.split("://", 1)[1]
    raw = raw[1:] if raw.startswith("/") else raw  # duckdb:///x → x ; duckdb:////abs → /abs
    raw = raw.split("?", 1)[0]
    if not raw:
        raise NsmError([error("E320", f"connection '{connection.name}': a DuckDB URL names a "
                              "file, like duckdb:///data/sales.duckdb", connection.span)])
    if ENV_REFERENCE.search(connection.url) is None:
        shown, refusal = resolve_data_path(tree_path, raw)
        if refusal:
            raise NsmError([error("E308", f"connection '{connection.name}': {refusal}",
                                  connection.span)])
        return shown
    return raw if os.path.isabs(raw) else os.path.join(os.path.dirname(tree_path), raw)


class Session:
    """An open connection: `rows(sql)` runs one read-only query under the timeout."""

    def __init__(self, target: Target, run: Callable[[str], tuple[list[str], list[tuple]]],
                 close: Callable[[], None], plan: Callable[[str], list[str]] | None = None,
                 interrupt: Callable[[], None] | None = None):
        self.target = target
        self._run = run
        self._close = close
        self._plan = plan
        self._interrupt = interrupt

    def interrupt(self) -> None:
        """Stop the running query, from another thread (a query sent ahead and not wanted)."""
        if self._interrupt is not None:
            with contextlib.suppress(Exception):
                self._interrupt()

    def rows(self, sql: str) -> tuple[list[str], list[tuple]]:
        return self._run(sql)

    def plan(self, sql: str) -> list[str]:
        """The result's column names without reading rows: a LIMIT 0 query is planned, not
        scanned; BigQuery, which bills a LIMIT 0 scan, is asked for a dry run instead."""
        if self._plan is not None:
            return self._plan(sql)
        return self._run(sql)[0]

    def close(self) -> None:
        with contextlib.suppress(Exception):  # a broken connection must not hide the cause
            self._close()


def open_session(target: Target) -> Session:
    """Connect; E326 when the driver is missing, E324 when the server cannot be reached."""
    opener = _OPENERS[target.scheme.dialect]
    try:
        return opener(target)
    except NsmError:
        raise
    except ImportError:
        raise missing_driver(target) from None
    except Exception as exc:  # noqa: BLE001 — every driver has its own exception types
        raise unreachable(target, exc) from None


@dataclass
class Sent:
    """One query on a connection of its own, sent on a thread so that the database works
    while nsm goes on (`nsm eval` sends a block's query before importing its analyses).
    `run` does the same in the calling thread. A failure is kept for the reader to raise."""

    target: Target
    sql: str
    session: Session | None = None
    answer: tuple[list[str], list[tuple]] | None = None
    failure: Exception | None = None
    thread: threading.Thread | None = None

    def run(self) -> Sent:
        try:
            self.session = open_session(self.target)
            self.answer = self.session.rows(self.sql)
        except Exception as exc:  # noqa: BLE001 — raised by whoever reads the answer
            self.failure = exc
        except BaseException:  # Ctrl-C in the calling thread: nobody reads this session
            if self.session is not None:
                self.session.close()
            raise
        return self

    def start(self) -> Sent:
        self.thread = threading.Thread(target=self.run, name="nsm-query", daemon=True)
        self.thread.start()
        return self

    def wait(self) -> Sent:
        if self.thread is not None:
            try:
                self.thread.join()
            except BaseException:  # Ctrl-C: the query is cancelled, as the driver would
                self.drop()
                raise
        return self

    def drop(self) -> None:
        """Not wanted after all: stop the query and close its connection."""
        if self.session is not None:
            self.session.interrupt()
        if self.thread is not None:
            self.thread.join(timeout=2)
        if self.session is not None and (self.thread is None or not self.thread.is_alive()):
            self.session.close()


SENT: dict[tuple[str, str], Sent] = {}  # (tree file, block) → its query, sent ahead


def claim_sent(tree_path: str, block: str, target: Target, sql: str) -> Sent | None:
    """The query sent ahead for the block, if it is this very query on this very URL (any
    other is dropped: the block sends its own)."""
    sent = SENT.pop((os.path.abspath(tree_path), block), None)
    if sent is not None and (sent.sql != sql or sent.target.url != target.url):
        sent.drop()
        return None
    return sent


def missing_driver(target: Target) -> NsmError:
    extra = target.scheme.extra
    return NsmError([error("E326", f"connection '{target.connection.name}' needs the "
                           f"{target.scheme.title} driver: pip install 'nsm-cli[{extra}]'",
                           target.connection.span)])


def first_line(target: Target, exc: BaseException) -> str:
    """A driver's message, scrubbed of secrets, on one line, not too long."""
    text = " ".join(target.secrets.scrub(str(exc)).split())
    return text[:300] or type(exc).__name__


def unreachable(target: Target, exc: BaseException) -> NsmError:
    return NsmError([error("E324", f"connection '{target.connection.name}': cannot reach "
                           f"{target.label}: {first_line(target, exc)}",
                           target.connection.span)])


def query_failed(target: Target, exc: BaseException, span: Span) -> NsmError:
    """E325 for a refused query; a dropped connection names host and database (E324)."""
    text = first_line(target, exc)
    if _dropped(exc):
        return NsmError([error("E324", f"connection '{target.connection.name}': lost "
                               f"{target.label}: {text}", target.connection.span)])
    if re.search(r"timeout|canceling statement|interrupt", text, re.IGNORECASE):
        text += f" (the query ran past {target.timeout:g} s: raise the connection's timeout)"
    return NsmError([error("E325", f"{target.label} refused the query: {text}", span)])


def _dropped(exc: BaseException) -> bool:
    names = {cls.__name__ for cls in type(exc).__mro__}
    return bool(names & {"OperationalError", "InterfaceError", "ConnectionException"}) and \
        not re.search(r"timeout|cancel|interrupt", str(exc), re.IGNORECASE)


# -- the drivers ------------------------------------------------------------------------

def _duckdb(target: Target) -> Session:
    import duckdb

    if not os.path.isfile(target.path or ""):
        raise NsmError([error("E324", f"connection '{target.connection.name}': the DuckDB file "
                              f"{target.path} does not exist", target.connection.span)])
    conn = duckdb.connect(target.path, read_only=True,
                          config={"enable_external_access": False})
    conn.execute("SET enable_progress_bar = false")  # it would draw on stderr
    with contextlib.suppress(duckdb.Error):  # periods in UTC, as on every other engine
        conn.execute("SET TimeZone = 'UTC'")
    conn.execute("SET lock_configuration = true")  # the query cannot undo the above

    def run(sql: str) -> tuple[list[str], list[tuple]]:
        timer = threading.Timer(target.timeout, conn.interrupt)
        timer.start()
        try:
            cursor = conn.execute(sql)
            return [d[0] for d in cursor.description], cursor.fetchall()
        finally:
            timer.cancel()

    return Session(target, run, conn.close, interrupt=conn.interrupt)


def _postgres(target: Target) -> Session:
    import psycopg

    # standard_conforming_strings: a backslash in a string literal is a backslash, whatever
    # the server's or the role's setting (literals are written into the query, quotes doubled)
    options = (f"-c default_transaction_read_only=on -c statement_timeout="
               f"{int(target.timeout * 1000)} -c TimeZone=UTC -c standard_conforming_strings=on")
    url = target.url.replace("postgresql+psycopg://", "postgresql://", 1)
    conn = psycopg.connect(url, connect_timeout=CONNECT_TIMEOUT, options=options,
                           application_name="nsm")
    conn.read_only = True

    def run(sql: str) -> tuple[list[str], list[tuple]]:
        try:
            with conn.cursor() as cursor:
                cursor.execute(sql)
                names = [d.name for d in cursor.description]
                return names, cursor.fetchall()
        finally:
            with contextlib.suppress(Exception):  # a lost connection keeps its own error
                conn.rollback()  # nothing to keep: the transaction was read-only

    return Session(target, run, conn.close, interrupt=getattr(conn, "cancel_safe", conn.cancel))


def _dbapi(conn, target: Target) -> Session:
    """A PEP 249 connection: each query in its own cursor."""

    def run(sql: str) -> tuple[list[str], list[tuple]]:
        cursor = conn.cursor()
        try:
            cursor.execute(sql)
            return [d[0] for d in cursor.description], [tuple(r) for r in cursor.fetchall()]
        finally:
            cursor.close()

    return Session(target, run, conn.close)


def _bigquery(target: Target) -> Session:
    from google.cloud import bigquery

    parts = urlsplit(target.url)  # bigquery://project/dataset
    client = bigquery.Client(project=parts.hostname or None)
    dataset = parts.path.strip("/")
    config = bigquery.QueryJobConfig(job_timeout_ms=int(target.timeout * 1000),
                                     default_dataset=f"{parts.hostname}.{dataset}"
                                     if dataset else None)

    def run(sql: str) -> tuple[list[str], list[tuple]]:
        result = client.query(sql, job_config=config, timeout=target.timeout).result()
        return [f.name for f in result.schema], [tuple(row.values()) for row in result]

    def plan(sql: str) -> list[str]:
        dry = bigquery.QueryJobConfig(dry_run=True, use_query_cache=False,
                                      default_dataset=config.default_dataset)
        return [f.name for f in client.query(sql, job_config=dry).schema]

    return Session(target, run, client.close, plan)


def _snowflake(target: Target) -> Session:
    import snowflake.connector

    parts = urlsplit(target.url)  # snowflake://user:pw@account/database/schema?warehouse=…
    path = [p for p in parts.path.split("/") if p]
    query = dict(parse_qsl(parts.query))
    conn = snowflake.connector.connect(
        user=unquote(parts.username or ""), password=unquote(parts.password or ""),
        account=parts.hostname, database=path[0] if path else None,
        schema=path[1] if len(path) > 1 else None, warehouse=query.get("warehouse"),
        role=query.get("role"), login_timeout=CONNECT_TIMEOUT,
        session_parameters={"STATEMENT_TIMEOUT_IN_SECONDS": int(target.timeout)})
    return _dbapi(conn, target)


def _trino(target: Target) -> Session:
    import trino

    parts = urlsplit(target.url)  # trino://user@host:port/catalog/schema
    path = [p for p in parts.path.split("/") if p]
    auth = (trino.auth.BasicAuthentication(unquote(parts.username or ""),
                                           unquote(parts.password))
            if parts.password else None)
    conn = trino.dbapi.connect(
        host=parts.hostname, port=parts.port or 8080, user=unquote(parts.username or "nsm"),
        catalog=path[0] if path else None, schema=path[1] if len(path) > 1 else None,
        auth=auth, http_scheme="https" if auth else "http",
        session_properties={"query_max_execution_time": f"{int(target.timeout)}s"})
    return _dbapi(conn, target)


def _spark(target: Target) -> Session:
    from pyhive import hive

    parts = urlsplit(target.url)  # spark://user@host:10000/database
    conn = hive.connect(host=parts.hostname, port=parts.port or 10000,
                        username=unquote(parts.username or "") or None,
                        password=unquote(parts.password) if parts.password else None,
                        auth="LDAP" if parts.password else None,
                        database=parts.path.strip("/") or "default")
    return _dbapi(conn, target)


def _clickhouse(target: Target) -> Session:
    import clickhouse_connect

    parts = urlsplit(target.url)  # clickhouse://user:pw@host:8123/database
    client = clickhouse_connect.get_client(
        host=parts.hostname, port=parts.port or 8123,
        username=unquote(parts.username or "default"), password=unquote(parts.password or ""),
        database=parts.path.strip("/") or "default", connect_timeout=CONNECT_TIMEOUT,
        settings={"readonly": 1, "max_execution_time": int(target.timeout)})

    def run(sql: str) -> tuple[list[str], list[tuple]]:
        result = client.query(sql)
        return list(result.column_names), [tuple(r) for r in result.result_rows]

    return Session(target, run, client.close)


_OPENERS: dict[str, Callable[[Target], Session]] = {
    "duckdb": _duckdb, "postgres": _postgres, "bigquery": _bigquery,
    "snowflake": _snowflake, "trino": _trino, "spark": _spark, "clickhouse": _clickhouse,
}
