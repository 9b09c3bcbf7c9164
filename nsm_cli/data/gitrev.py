"""`REV:PATH`: a tree file as of a git revision, with its data files as of the same revision.

`nsm diff HEAD~1:trees/mau.yaml trees/mau.yaml` compares a tree with its own past without
copying files around: the old tree and every data file git tracks at that revision are
written into a temporary folder with the same layout (data git does not track are read
from the working copy). git runs with an argument list, never through a shell, and a
revision that looks like an option is refused.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, replace

from nsm_cli.diagnostics import Diagnostic, NsmError, UsageError


@dataclass
class Materialized:
    """A tree file ready to load, how to name it for people, and its folder to clean up."""

    path: str
    label: str
    folder: str | None = None
    prefix: str | None = None   # the temporary folder's path, shown as `REV:` in messages

    def close(self) -> None:
        if self.folder:
            shutil.rmtree(self.folder, ignore_errors=True)

    def relabel(self, diagnostics: list[Diagnostic]) -> list[Diagnostic]:
        """Diagnostics about the temporary copy, pointing at `REV:PATH` instead."""
        if not self.prefix:
            return diagnostics
        rev = self.label.split(":", 1)[0]
        return [replace(d, span=replace(d.span, file=self._shown(d.span.file)),
                        message=d.message.replace(self.prefix + os.sep, f"{rev}:"))
                for d in diagnostics]

    def _shown(self, file: str) -> str:
        if not self.prefix or not file.startswith(self.prefix + os.sep):
            return file
        rev = self.label.split(":", 1)[0]
        return f"{rev}:{os.path.relpath(file, self.prefix)}"


def split_spec(spec: str) -> tuple[str, str] | None:
    """(REV, PATH) when `spec` means a file at a revision; None for a plain file."""
    if os.path.exists(spec) or ":" not in spec:
        return None
    rev, path = spec.split(":", 1)
    if not rev or not path or (len(rev) == 1 and os.name == "nt"):
        return None
    return rev, path


def _git(args: list[str], cwd: str) -> subprocess.CompletedProcess[bytes]:
    try:
        return subprocess.run(["git", *args], cwd=cwd, capture_output=True, check=False)
    except FileNotFoundError as exc:
        raise UsageError("REV:PATH needs git, which is not installed") from exc


def _show(rev: str, repo_path: str, top: str) -> bytes | None:
    done = _git(["show", f"{rev}:{repo_path}"], top)
    return done.stdout if done.returncode == 0 else None


def materialize(spec: str) -> Materialized:
    """The tree named by `spec`: the file itself, or a temporary copy of `REV:PATH`."""
    parts = split_spec(spec)
    if parts is None:
        return Materialized(spec, spec)
    rev, path = parts
    if rev.startswith("-"):
        raise UsageError(f"{spec}: a revision cannot start with '-'")
    found = _git(["rev-parse", "--show-toplevel"], os.getcwd())
    if found.returncode != 0:
        raise UsageError(f"{spec}: not inside a git repository (REV:PATH reads from git)")
    top = found.stdout.decode().strip()
    repo_path = os.path.relpath(os.path.abspath(path), top).replace(os.sep, "/")
    if repo_path.startswith("../"):
        raise UsageError(f"{spec}: {path} is outside the repository {top}")
    if _git(["rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}"], top).returncode != 0:
        raise UsageError(f"{spec}: no such git revision '{rev}'")
    text = _show(rev, repo_path, top)
    if text is None:
        raise UsageError(f"{spec}: git has no file {repo_path} at {rev}")
    folder = tempfile.mkdtemp(prefix="nsm-diff-")
    copy = os.path.join(folder, *repo_path.split("/"))
    os.makedirs(os.path.dirname(copy), exist_ok=True)
    with open(copy, "wb") as stream:
        stream.write(text)
    done = Materialized(copy, f"{rev}:{repo_path}", folder, folder)
    try:
        _data_files(done, rev, repo_path, top)
    except BaseException:
        done.close()
        raise
    return done


def _data_files(tree: Materialized, rev: str, repo_path: str, top: str) -> None:
    """Write each data file the old tree names as of `rev`, else as in the working copy."""
    from nsm_cli.tree.parser import parse_tree

    try:
        parsed, _ = parse_tree(tree.path)
    except NsmError:
        return   # loading reports it, with the REV:PATH label
    for spec in parsed.data.values():
        inside = os.path.relpath(spec.path, tree.folder)
        if inside.startswith(".."):
            continue   # refused by the loader: outside the project
        target = os.path.join(tree.folder, inside)
        if os.path.exists(target):
            continue
        os.makedirs(os.path.dirname(target), exist_ok=True)
        text = _show(rev, inside.replace(os.sep, "/"), top)
        if text is not None:
            with open(target, "wb") as stream:
                stream.write(text)
        elif os.path.isfile(os.path.join(top, inside)):
            shutil.copyfile(os.path.join(top, inside), target)
