"""`nsm init`'s templates: the articles' patterns as working trees, and writing files safely.

Templates are package data (`templates/*.yaml` and their CSV files), read through
importlib.resources so that an installed wheel has them too. Writing never overwrites: every
file is checked first and created exclusively, and nothing is written when one exists.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from importlib import resources


@dataclass(frozen=True)
class Template:
    """One template: its name on the command line, its file stem and what it shows."""

    name: str
    stem: str
    summary: str


TEMPLATES: dict[str, Template] = {t.name: t for t in (  # summaries fit 80 columns in --list
    Template("formula", "arpu", "ARPU = visits × spend per visit (4 levels)"),
    Template("funnel", "funnel", "revenue = visitors × 3 funnel rates × average price"),
    Template("journey", "journey", "12-month retention = product of (1 − churn) per stage"),
    Template("flow", "mau", "MAU = retained + new + woken customers"),
    Template("saas", "mrr", "MRR = subscribers × revenue; guardrails CAC and lifetime"),
)}
DEFAULT = "formula"


class InitError(Exception):
    """A file would be overwritten, or a folder cannot be used: nothing was written."""


@dataclass(frozen=True)
class Written:
    """What `init` did: the files it created and the ones it kept as they were."""

    files: list[str]
    kept: list[str]


def template_files(name: str) -> dict[str, str]:
    """The files of a template, by file name: the tree and its CSV."""
    stem = TEMPLATES[name].stem
    folder = resources.files("nsm_cli.authoring") / "templates"
    return {f"{stem}{ext}": (folder / f"{stem}{ext}").read_text(encoding="utf-8")
            for ext in (".yaml", ".csv")}


def schema_text() -> str:
    """The JSON Schema as `nsm schema` prints it: the file editors read beside the tree."""
    from nsm_cli.tree.schema import tree_schema

    return json.dumps(tree_schema(), ensure_ascii=False, indent=2) + "\n"


def write_files(directory: str, files: dict[str, str]) -> Written:
    """Write files into a folder (created if missing), or nothing when one of them exists.

    The schema file is shared by every tree in a folder: an identical one is left alone, a
    different one (from another nsm version) is kept and reported, never overwritten.
    """
    from nsm_cli.tree.schema import SCHEMA_FILE

    if os.path.exists(directory) and not os.path.isdir(directory):
        raise InitError(f"{directory} is a file, not a folder")
    exists = [_join(directory, name) for name in files
              if os.path.lexists(_join(directory, name))]
    if exists:
        verb = "exists" if len(exists) == 1 else "exist"
        raise InitError(f"{', '.join(exists)} already {verb}: nsm init never overwrites a "
                        "file; nothing was written (choose another folder, or move the file "
                        "away)")
    schema = _join(directory, SCHEMA_FILE)
    kept = [schema] if os.path.lexists(schema) else []
    todo = dict(files) if kept else {**files, SCHEMA_FILE: schema_text()}
    os.makedirs(directory, exist_ok=True)
    written: list[str] = []
    try:
        for name, text in todo.items():
            path = _join(directory, name)
            with open(path, "x", encoding="utf-8", newline="\n") as handle:
                handle.write(text)
            written.append(path)
    except OSError as exc:
        for path in written:
            os.remove(path)
        raise InitError(f"cannot write {exc.filename}: {exc.strerror}; nothing was "
                        "written") from None
    if kept and _same_schema(schema):
        kept = []
    return Written(written, kept)


def _join(directory: str, name: str) -> str:
    """A path as the user would type it: no `./` in front for the current folder."""
    return name if os.path.normpath(directory) == "." else os.path.join(directory, name)


def _same_schema(path: str) -> bool:
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read() == schema_text()
    except (OSError, UnicodeDecodeError):
        return False
