"""The tree file's `connections` and the database keys of a data block (`connection`,
`table`, `sql`), checked for shape only: nothing here reads the environment or connects.

A tree file comes from a pull request, so a password written in it is refused here,
before any connection is made, and no message ever repeats the URL.
"""

from __future__ import annotations

import difflib
import re
from typing import Protocol
from urllib.parse import parse_qsl

from nsm_cli.diagnostics import Span
from nsm_cli.tree.model import Connection, DatabaseSource, TreeFile
from nsm_cli.tree.yamlload import YMap, YValue


class _Parser(Protocol):
    """What these functions need of the tree parser (nsm_cli.tree.parser._Parser)."""

    tree: TreeFile
    refused_data: set[str]

    def err(self, code: str, message: str, span: Span) -> None: ...
    def check_keys(self, mapping: YMap, allowed: tuple[str, ...], what: str) -> None: ...
    def text(self, value: YValue | None, key: str, *, numbers_ok: bool = False
             ) -> str | None: ...
    def number(self, value: YValue | None, key: str) -> float | None: ...
    def text_list(self, value: YValue | None, key: str) -> list[str]: ...
    def mapping(self, value: YValue | None, what: str) -> YMap | None: ...


CONNECTION_KEYS = ("url", "timeout")
DATABASE_KEYS = ("connection", "table", "sql")
ENV_REFERENCE = re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_]*\}")
SECRET_PARAMETERS = frozenset({"password", "pwd", "passwd", "secret", "token", "access_token",
                               "private_key", "private_key_passphrase", "credentials"})
_AUTHORITY = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://(?P<authority>[^/?#]*)")
NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
TABLE_NAME = re.compile(r"^[^.\s\"`]+(\.[^.\s\"`]+){0,2}$")
MAX_TIMEOUT = 24 * 3600.0


def password_in_url(url: str) -> bool:
    """Whether a URL as written holds a secret that is not a `${VAR}` reference."""
    match = _AUTHORITY.match(url)
    if match and "@" in match["authority"]:
        userinfo = match["authority"].rsplit("@", 1)[0]
        _, colon, password = userinfo.partition(":")
        if colon and password and not ENV_REFERENCE.fullmatch(password):
            return True
    _, question, query = url.partition("?")
    if question:
        for key, value in parse_qsl(query.split("#", 1)[0], keep_blank_values=True):
            if key.lower() in SECRET_PARAMETERS and value and not ENV_REFERENCE.fullmatch(value):
                return True
    return False


def parse_connections(parser: _Parser, value: YValue | None) -> dict[str, Connection]:
    """`connections: {NAME: {url: ${VAR}, timeout: SECONDS}}` (or `NAME: URL`)."""
    entries = parser.mapping(value, "'connections'")
    found: dict[str, Connection] = {}
    for key, entry in entries.items if entries is not None else []:
        name = str(key.value)
        if not NAME.match(name):
            parser.err("E106", f"connection name '{name}' must be a plain id (letters, "
                       "digits, _)", key.span)
            continue
        timeout = None
        url_value: YValue | None = entry
        if isinstance(entry, YMap):
            parser.check_keys(entry, CONNECTION_KEYS, f"connection '{name}'")
            url_value = entry.get("url")
            if url_value is None:
                parser.err("E105", f"connection '{name}' needs a url (like url: "
                           "${NSM_WAREHOUSE_URL})", entry.span)
                continue
            timeout = _timeout(parser, entry.get("timeout"))
        url = parser.text(url_value, f"url of connection '{name}'")
        if url is None:
            continue
        if password_in_url(url):
            parser.err("E322", f"connection '{name}': a password is written in the tree file; "
                       "read the URL (or its password) from the environment instead, e.g. "
                       "url: ${NSM_WAREHOUSE_URL}", url_value.span)
            parser.refused_data.add(f"connection:{name}")  # its blocks report nothing more
            continue
        found[name] = Connection(name, url.strip(), url_value.span, timeout)
    return found


def _timeout(parser: _Parser, value: YValue | None) -> float | None:
    number = parser.number(value, "timeout")
    if number is not None and not 0 < number <= MAX_TIMEOUT:
        parser.err("E112", "timeout must be a number of seconds above 0 (at most a day)",
                   value.span)
        return None
    return number


def parse_database(parser: _Parser, name: str, entry: YMap) -> DatabaseSource | None:
    """The database keys of a data block; None (after reporting) when they do not fit."""
    connection = parser.text(entry.get("connection"), "connection", numbers_ok=True)
    table_value, sql_value = entry.get("table"), entry.get("sql")
    if connection is None:
        for key, given in (("table", table_value), ("sql", sql_value)):
            if given is not None:
                parser.err("E105", f"data '{name}': '{key}' needs a 'connection' (the name of "
                           "an entry under the top-level connections)", given.span)
        return None
    if entry.get("path") is not None:
        parser.err("E112", f"data '{name}': give either a path or a connection, not both",
                   entry.get("path").span)
    if (table_value is None) == (sql_value is None):
        parser.err("E105", f"data '{name}': a connection needs exactly one of table "
                   "(schema.table) or sql (one SELECT query)", entry.span)
        return None
    span = entry.get("connection").span
    if f"connection:{connection}" in parser.refused_data:
        return None
    if connection not in parser.tree.connections:
        known = list(parser.tree.connections)
        close = difflib.get_close_matches(connection, known, n=1, cutoff=0.6)
        hint = f" (did you mean '{close[0]}'?)" if close else (
            f": the file names {', '.join(known)}" if known else ": add a top-level "
            "'connections' section")
        parser.err("E320", f"data '{name}': unknown connection '{connection}'{hint}", span)
        return None
    if table_value is not None:
        table = parser.text(table_value, "table", numbers_ok=True)
        if table is None:
            return None
        if not TABLE_NAME.match(table.strip()):
            parser.err("E112", f"data '{name}': table must read name, schema.name or "
                       "catalog.schema.name (no quotes or spaces); use sql for anything "
                       "else", table_value.span)
            return None
        return DatabaseSource(connection, span, table=table.strip())
    sql = parser.text(sql_value, "sql")
    if sql is None:
        return None
    return DatabaseSource(connection, span, sql=sql, sql_span=sql_value.span)


