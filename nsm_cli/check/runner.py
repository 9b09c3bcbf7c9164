"""Check tree files: every error the core finds, then the tree-quality rules, per file.

Each file goes through the same stages as every command (parse, validate, load the
data, evaluate); the rules that judge structure run whenever the tree compiles, the
ones that need values only when its data loaded. A broken file never stops the others:
its problems become diagnostics, and even a crash of nsm itself on one file is
reported as E999 for that file while the rest are still checked.
"""

from __future__ import annotations

import fnmatch
import os
from dataclasses import dataclass, field

from nsm_cli.check.catalogue import INTERNAL
from nsm_cli.check.config import Config
from nsm_cli.diagnostics import ERROR, INFO, WARNING, Diagnostic, NsmError, Span

PATTERNS = ("*.yaml", "*.yml")
SAMPLE_ROWS = 10_000  # rows of a big data block nsm check reads (the rest is not scanned)


@dataclass
class CheckResult:
    """The files checked and every finding, sorted by file, line and column."""

    files: list[str]
    diagnostics: list[Diagnostic] = field(default_factory=list)
    base: str = "."          # the folder relative paths are relative to (for SARIF, GitHub)

    def count(self, severity: str) -> int:
        return sum(1 for d in self.diagnostics if d.severity == severity)

    @property
    def errors(self) -> int:
        return self.count(ERROR)

    @property
    def warnings(self) -> int:
        return self.count(WARNING)

    @property
    def infos(self) -> int:
        return self.count(INFO)

    def failed(self, strict: bool = False) -> bool:
        return self.errors > 0 or (strict and self.warnings > 0)


def expand(paths: list[str], config: Config) -> tuple[list[str], list[Diagnostic]]:
    """Files to check: named files as given, folders searched for *.yaml/*.yml (sorted).

    Hidden files and folders (.git, .venv, .github) are skipped below a folder, as are
    files matching an `exclude` pattern. A path that does not exist is an E100.
    """
    files: list[str] = []
    missing: list[Diagnostic] = []
    for path in paths:
        if os.path.isdir(path):
            found = []
            for folder, dirs, names in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for name in names:
                    if name.startswith(".") or not any(fnmatch.fnmatch(name, p)
                                                       for p in PATTERNS):
                        continue
                    file = os.path.join(folder, name)
                    if not _excluded(file, config.exclude):
                        found.append(file)
            files.extend(sorted(found))
        elif os.path.exists(path):
            files.append(path)
        else:
            missing.append(Diagnostic("E100", ERROR, f"no such file or folder: {path}",
                                      Span(path, 1, 1)))
    unique = list(dict.fromkeys(os.path.normpath(f) for f in files))
    return unique, missing


def _excluded(file: str, patterns: tuple[str, ...]) -> bool:
    shown = os.path.normpath(file).replace(os.sep, "/")
    return any(fnmatch.fnmatch(shown, p) or fnmatch.fnmatch(os.path.basename(shown), p)
               for p in patterns)


def check_paths(paths: list[str], config: Config | None = None,
                databases: str = "validate") -> CheckResult:
    """Check every tree file below `paths`; the result holds only what `config` selects.

    Database blocks are planned against the real schema without scanning rows
    (`databases="validate"`), or not connected to at all (`"offline"`)."""
    config = config or Config()
    files, diagnostics = expand(paths, config)
    for file in files:
        diagnostics.extend(check_file(file, config, databases))
    kept = [d for d in diagnostics if config.wants(d.code)]
    kept = sorted(set(kept), key=Diagnostic.sort_key)
    return CheckResult(files=files, diagnostics=kept, base=os.getcwd())


def check_file(path: str, config: Config, databases: str = "validate") -> list[Diagnostic]:
    """Every finding for one tree file (before select/ignore), never raising for its content."""
    try:
        return _check(path, config, databases)
    except NsmError as exc:
        return list(exc.diagnostics)
    except (RecursionError, MemoryError) as exc:
        message = (f"nsm ran out of {'stack' if isinstance(exc, RecursionError) else 'memory'}"
                   " on this file: simplify it (fewer levels, smaller data)")
        return [Diagnostic(INTERNAL, ERROR, message, Span(path, 1, 1))]
    except Exception as exc:  # noqa: BLE001 — one file's crash must not hide the others
        message = (f"internal error ({type(exc).__name__}): nsm could not check this file; "
                   "please report it with the file")
        return [Diagnostic(INTERNAL, ERROR, message, Span(path, 1, 1))]


def _check(path: str, config: Config, databases: str) -> list[Diagnostic]:
    from nsm_cli.analysis.evaluate import evaluate
    from nsm_cli.data.load import inspect_tree
    from nsm_cli.tree.compile import compile_tree
    from nsm_cli.tree.parser import parse_tree

    loaded, diagnostics = inspect_tree(path, databases, sample=SAMPLE_ROWS)
    if loaded is not None and loaded.data.sampled:
        # big blocks were read in part: their columns and first rows are checked, values
        # (and the rules that judge them) wait for a command that reads every row
        return diagnostics + sampled_notes(loaded) + run_rules(loaded.tree, config)
    if loaded is not None:
        evaluation = evaluate(loaded)
        found = silence_core_warnings(loaded.tree, evaluation.warnings)
        found += run_rules(loaded.tree, config, evaluation, loaded.data)
        return diagnostics + found
    # The tree has errors: still judge its structure when it compiles (data errors only).
    parsed, _ = parse_tree(path)
    compiled, _ = compile_tree(parsed)
    if compiled is not None:
        diagnostics = diagnostics + run_rules(compiled, config)
    return diagnostics


def sampled_notes(loaded) -> list[Diagnostic]:
    """An I301 note at each block that was read in part."""
    notes = []
    for name in loaded.data.sampled:
        spec = loaded.data.tables[name].spec
        notes.append(Diagnostic("I301", INFO, f"data '{name}' ({spec.path}) is big: nsm check "
                                f"read its columns and first {SAMPLE_ROWS:,} rows only, and "
                                "judged no values (nsm eval reads every row)", spec.span))
    return notes


def run_rules(tree, config: Config, evaluation=None, data=None) -> list[Diagnostic]:
    """The W4xx rules on a compiled tree; the value rules only when values are given.

    A node's `ignore: [CODE]` silences a rule's findings on that node; findings about the
    whole file (depth of one level, unused columns, money root) belong to the root.
    """
    from nsm_cli.check.rules import RULES, RuleContext

    ctx = RuleContext(tree=tree, config=config, evaluation=evaluation, data=data)
    found: list[Diagnostic] = []
    for code, rule in RULES.items():
        if not config.wants(code) or (rule.NEEDS_VALUES and evaluation is None):
            continue
        for finding in rule.check(ctx):
            node = tree.nodes.get(finding.node_id)
            if node is not None and _silenced(node.ignore, code):
                continue
            found.append(Diagnostic(code, rule.SEVERITY, finding.message, finding.span))
    return found


def _silenced(ignore: list[str], code: str) -> bool:
    return any(code.upper().startswith(item.strip().upper()) for item in ignore if item.strip())


def silence_core_warnings(tree, warnings: list[Diagnostic]) -> list[Diagnostic]:
    """Drop W201s on nodes whose `ignore:` names them (they point at the node's formula)."""
    spans = {}
    for node in tree.nodes.values():
        if node.ignore and node.formula is not None:
            spans[node.formula_span()] = node
    return [w for w in warnings
            if not (w.span in spans and _silenced(spans[w.span].ignore, w.code))]
