"""The tree file's JSON Schema (draft 2020-12), built from the key table the parser uses.

Editors validate and explain a tree as it is typed (`# yaml-language-server: $schema=…`).
Only keywords that mean the same under draft-07 are used, since some editors' validators
stop there (`$defs` is only a place that `$ref` points into);
`nsm check` stays the judge of everything a schema cannot say (formulas, ids that exist,
data). The schema is deliberately a little looser than the parser on values (a `label` may
be any text) and exactly as strict on keys: an unknown key never validates.
"""

from __future__ import annotations

from typing import Any

from nsm_cli.tree.keys import ID_REGEX, SECTIONS, Key

DRAFT = "https://json-schema.org/draft/2020-12/schema"
SCHEMA_FILE = "nsm.schema.json"  # the name `nsm init` writes the schema under

# A number as people type it in YAML: 1200, "1,200", "92%", "¥1,200", "１２３", "−5" (the
# grammar of nsm_cli.numbers, a little looser: a schema that refuses a value nsm reads would
# be worse than one that lets a typo by).
_NUMBER_CHARS = r"\s0-9０-９,，_.．eE+\-−－＋$¥￥€£"
NUMBER_TEXT = rf"^[{_NUMBER_CHARS}]*[0-9０-９][{_NUMBER_CHARS}]*[%％]?\s*$"
CHANGE_TEXT = r"^\s*[+\-−]?\s*([0-9]+(\.[0-9]*)?|\.[0-9]+)\s*(%|[pP][pP]|[pP][tT][sS]?)\s*$"
SOURCE_TEXT = r"^[^.]+\.[^.].*$"

_LABEL = {"type": ["string", "number"]}
_NUMBER = {"anyOf": [{"type": "number"}, {"type": "string", "pattern": NUMBER_TEXT}]}
_SOURCE_REF = {"type": "string", "pattern": SOURCE_TEXT,
               "description": "NAME.column: a column of a data source."}

# Each kind of value (see nsm_cli.tree.keys) as a schema fragment.
KINDS: dict[str, dict[str, Any]] = {
    "text": {"type": "string"},
    "path": {"type": "string"},
    "label": _LABEL,
    "number": _NUMBER,
    "id": {"type": "string", "pattern": ID_REGEX},
    "labels": {"type": "array", "items": _LABEL},
    "version": {"enum": [1]},
    "count": {"type": "integer", "minimum": 1},
    "change": {"type": "string", "pattern": CHANGE_TEXT},
    "node": {"$ref": "#/$defs/node"},
    "nodes": {"type": "array", "items": {"$ref": "#/$defs/node"}},
    "children": {"type": "array", "items": {"anyOf": [{"$ref": "#/$defs/node"},
                                                      {"$ref": "#/$defs/ref"}]}},
    "source": {"anyOf": [_SOURCE_REF, {"$ref": "#/$defs/source"}]},
    "benchmark": {"anyOf": [_NUMBER, _SOURCE_REF, {"$ref": "#/$defs/source"},
                            {"type": "object", "required": ["best"], "additionalProperties": False,
                             "properties": {"best": {"type": "string"}}}]},
    "data_map": {"type": "object", "propertyNames": {"pattern": ID_REGEX},
                 "additionalProperties": {"anyOf": [{"type": "string"},
                                                    {"$ref": "#/$defs/data"}]}},
    "scenario_map": {"type": "object", "additionalProperties": {"$ref": "#/$defs/scenario"}},
    "connection_map": {"type": "object", "propertyNames": {"pattern": ID_REGEX},
                       "additionalProperties": {"anyOf": [{"type": "string"},
                                                          {"$ref": "#/$defs/connection"}]}},
    "changes": {"type": "object", "additionalProperties": {
        "anyOf": [{"type": "number"}, {"type": "string"}]}},
    "alert": {"$ref": "#/$defs/alert"},
    "forecast_rule": {"anyOf": [_NUMBER, {
        "type": "object",
        "properties": {"probability": {**_NUMBER, "description": "Fires below this chance: "
                                       "50% or 0.5."},
                       "horizon": {"type": "integer", "minimum": 1,
                                   "description": "How many periods ahead (default 1)."}},
        "required": ["probability"], "additionalProperties": False}]},
    "domain": {"type": "array", "minItems": 2, "maxItems": 2,
               "items": {"anyOf": [_NUMBER, {"type": "null"}]}},
}


def _property(key: Key) -> dict[str, Any]:
    if key.kind == "choice":
        fragment: dict[str, Any] = {"enum": list(key.choices)}
    else:
        fragment = dict(KINDS[key.kind])
    if "$ref" in fragment:  # draft-07 validators ignore a $ref's siblings, the description too
        fragment = {"allOf": [fragment]}
    return {**fragment, "description": key.description}


def section_schema(section: str) -> dict[str, Any]:
    """One kind of mapping: its keys as properties, nothing else allowed."""
    keys = SECTIONS[section]
    body: dict[str, Any] = {
        "type": "object",
        "properties": {key.name: _property(key) for key in keys},
        "additionalProperties": False,
    }
    required = [key.name for key in keys if key.required]
    if required:
        body["required"] = required
    return body


def tree_schema() -> dict[str, Any]:
    """The whole schema: the top level, with nodes, sources and the rest under `$defs`."""
    top = section_schema("top")
    defs = {name: section_schema(name) for name in SECTIONS if name != "top"}
    defs["ref"] = {
        "type": "object",
        "properties": {"ref": {"type": ["string", "number"],
                               "description": "The id of a node defined elsewhere in the "
                               "file: a shared driver."}},
        "required": ["ref"],
        "additionalProperties": False,
    }
    defs["alert"]["minProperties"] = 1
    return {"$schema": DRAFT, "title": "nsm metric tree (format version 1)",
            "description": "A North Star Metric tree for nsm: the root is the North Star, each "
            "node a formula over its children, leaves bound to data columns.",
            **top, "$defs": defs}
