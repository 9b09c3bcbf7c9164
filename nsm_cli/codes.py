"""Every diagnostic code the core reports, with a one-line title.

Codes are stable: scripts and `ignore:` lists rely on them. Groups:
E1xx file and schema, E2xx formulas, E3xx data, W2xx evaluation warnings,
W4xx tree quality (the lint rules in :mod:`nsm_cli.check.rules`, with their own
titles there).
"""

from __future__ import annotations

CORE_CODES: dict[str, str] = {
    # E1xx: the file and its schema
    "E100": "file cannot be read (missing, too large, binary or not UTF-8)",
    "E101": "YAML syntax error",
    "E102": "forbidden YAML construct (tag, alias explosion, nesting too deep)",
    "E103": "wrong type for a key or for the top level",
    "E104": "unknown key",
    "E105": "missing required key",
    "E106": "malformed id",
    "E107": "duplicate id",
    "E108": "reference to an unknown node",
    "E109": "cycle between nodes",
    "E110": "a leaf needs exactly one of source or value",
    "E111": "invalid change in a scenario",
    "E112": "invalid value for a key",
    "E113": "duplicate key in a mapping",
    "E114": "invalid alert rule",
    # E2xx: formulas
    "E201": "formula syntax error",
    "E202": "forbidden construct in a formula",
    "E203": "formula names something that is not a child",
    "E204": "child not used by its parent's formula",
    "E205": "node with children has no formula",
    "E206": "formula on a node without children",
    "E207": "formula too long or too deeply nested",
    # E3xx: data
    "E301": "unknown data name",
    "E302": "unknown column",
    "E303": "data file cannot be read",
    "E304": "bad cell",
    "E305": "several rows share a period and no agg is given",
    "E306": "data file lacks a required column (period, metric, value)",
    "E308": "data path points outside the project",
    "E310": "no data for a leaf in a period an analysis needs (explain, goal-seek)",
    "E311": "a formula gives no value where an analysis needs one (explain, goal-seek)",
    "E312": "data blocks (or one block's labels) at different period grains",
    "E313": "a source's where filter does not parse or names no column",
    # E32x: databases (connections, queries); messages never hold a password
    "E320": "unknown connection, or a connection URL nsm cannot use",
    "E321": "an environment variable a connection needs is not set",
    "E322": "a password is written in the tree file",
    "E323": "sql is not one read-only SELECT query",
    "E324": "the database cannot be reached (refused, dropped, wrong credentials)",
    "E325": "the database refused the query (unknown table or column, timeout)",
    "E326": "the driver for a connection is not installed (an extra is missing)",
    # W2xx: evaluation
    "W201": "formula gives a missing value (division by zero, log of a non-positive number)",
    "W202": "explain sampled fewer permutations than asked, to finish in seconds",
    "W301": "data file has a header but no rows",
    # I3xx: notes about data
    "I301": "a big data block was checked on its first rows only (values not judged)",
}
