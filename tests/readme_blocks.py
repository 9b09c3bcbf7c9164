"""README output that cannot go stale: run the commands README.md shows, compare or rewrite.

How it works (keep to it when you add a README section):

- A ```console block holds one or more commands, each a line `$ nsm ARGS...`, and under each
  the exact output it prints (stdout, then stderr). Nothing else goes in such a block.
- A command may start with environment settings (`$ NO_COLOR=1 COLUMNS=100 nsm ...`), may send
  its stdout to a file (`$ nsm schema > nsm.schema.json`: then only stderr is shown) and may
  end with `; echo "exit $?"`: then the output ends with `exit N`. A command shown without it
  must exit 0, so a README can never show a failing command as if it succeeded. Other shell
  (pipes, `&&`, other programs) is refused: show `pip install ...` in a ```bash block.
- Every command runs in-process, in a scratch folder that holds a copy of `trees/` and of
  `tests/data/` (the real series `nsm forecast` is shown on) (and an
  empty `.git`, where nsm check's search for settings stops), at 100 columns, with NO_COLOR=1
  and without NSM_FORMAT or GITHUB_ACTIONS, unless the command sets them itself.
- `<!-- file: NAME -->` on the line right before a fenced block writes that block into the
  scratch folder as NAME before any command runs (the README's example.yaml and example.csv).
- Trailing spaces are not compared (rich pads table cells; editors strip them).
- `$ nsm` anywhere outside a ```console block is an error: the check would not see it.
- A block of ``` or ```text is prose for people (a synopsis, an excerpt) and is not run.

`make readme` (python tests/readme_blocks.py --write) rewrites every ```console block with what
its commands print now; `python tests/readme_blocks.py` only checks and prints a diff.
tests/test_readme.py fails while README.md differs from what the commands print.
"""

from __future__ import annotations

import io
import os
import re
import shlex
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
ENVIRONMENT = {"NO_COLOR": "1", "COLUMNS": "100"}
UNSET = ("NSM_FORMAT", "GITHUB_ACTIONS", "FORCE_COLOR")
SHOW_EXIT = '; echo "exit $?"'
FENCE = re.compile(r"^```(\S*)\s*$")
FILE_MARK = re.compile(r"^<!--\s*file:\s*(\S+)\s*-->\s*$")
ENV_WORD = re.compile(r"^[A-Z_][A-Z0-9_]*=")


@dataclass
class Block:
    """A fenced block: its language, its body's line range in the README, its body."""

    language: str
    start: int  # index of the first body line
    end: int  # index of the closing fence
    lines: list[str]
    file: str | None  # from a `<!-- file: NAME -->` right before the fence


@dataclass
class Command:
    line: str  # as shown, without the leading "$ "
    env: dict[str, str]
    args: list[str]
    show_exit: bool
    into: str | None  # `> FILE`: stdout goes to that file in the scratch folder
    expected: list[str]  # the output lines the README shows under it


def blocks(lines: list[str]) -> list[Block]:
    """Every fenced block of the README, in order."""
    found, index = [], 0
    while index < len(lines):
        opening = FENCE.match(lines[index])
        if not opening:
            index += 1
            continue
        end = index + 1
        while end < len(lines) and lines[end].rstrip() != "```":
            end += 1
        mark = FILE_MARK.match(lines[index - 1]) if index else None
        found.append(Block(opening.group(1), index + 1, end, lines[index + 1:end],
                           mark.group(1) if mark else None))
        index = end + 1
    return found


def parse_command(line: str) -> Command:
    """`[NAME=value ...] nsm ARGS... [; echo "exit $?"]` → a Command (ValueError otherwise)."""
    text, show_exit = line, line.endswith(SHOW_EXIT)
    if show_exit:
        text = line[: -len(SHOW_EXIT)]
    words = shlex.split(text)
    env = {}
    while words and ENV_WORD.match(words[0]):
        name, _, value = words.pop(0).partition("=")
        env[name] = value
    into = None
    if len(words) > 2 and words[-2] == ">":
        into, words = words[-1], words[:-2]
    if not words or words[0] != "nsm" or {">", "|", "<", "&&"} & set(words):
        raise ValueError(f"README command is not `nsm ...` [> FILE]: $ {line}")
    return Command(line, env, words[1:], show_exit, into, [])


def commands(block: Block) -> list[Command]:
    """The commands of a ```console block, each with the output lines shown under it."""
    found: list[Command] = []
    for line in block.lines:
        if line.startswith("$ "):
            found.append(parse_command(line[2:]))
        elif not found:
            raise ValueError(f"README line {block.start + 1}: a console block starts with `$ `")
        else:
            found[-1].expected.append(line.rstrip())
    for command in found:
        while command.expected and not command.expected[-1]:
            command.expected.pop()
    return found


def stray_commands(lines: list[str]) -> list[str]:
    """`$ nsm` lines outside ```console blocks: shown to people but never checked."""
    inside = set()
    for block in blocks(lines):
        if block.language == "console":
            inside.update(range(block.start, block.end))
    return [f"README line {i + 1}: {line}" for i, line in enumerate(lines)
            if re.match(r"^\$ .*\bnsm\b", line) and i not in inside]


@contextmanager
def environment(changes: dict[str, str]) -> Iterator[None]:
    saved = dict(os.environ)
    for name in UNSET:
        os.environ.pop(name, None)
    os.environ.update(changes)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def fill(folder: Path, lines: list[str]) -> None:
    """Put a copy of trees/ and tests/data/ and the README's `<!-- file: -->` blocks into
    folder."""
    shutil.copytree(ROOT / "trees", folder / "trees")
    shutil.copytree(ROOT / "tests" / "data", folder / "tests" / "data")
    (folder / ".git").mkdir()
    for block in blocks(lines):
        if block.file:
            (folder / block.file).write_text("\n".join(block.lines) + "\n", encoding="utf-8")


@contextmanager
def scratch(lines: list[str]) -> Iterator[Path]:
    """A filled scratch folder (see fill), which is the cwd meanwhile."""
    previous = Path.cwd()
    with tempfile.TemporaryDirectory(prefix="nsm-readme-") as name:
        folder = Path(name)
        fill(folder, lines)
        os.chdir(folder)
        try:
            yield folder
        finally:
            os.chdir(previous)


def run(command: Command) -> tuple[int, list[str]]:
    """Run one command in-process (in the scratch folder); its exit code and output lines."""
    from nsm_cli.cli.main import main

    out, err = io.StringIO(), io.StringIO()
    with environment({**ENVIRONMENT, **command.env}), redirect_stdout(out), redirect_stderr(err):
        code = main(list(command.args))
    shown = out.getvalue()
    if command.into:
        Path(command.into).write_text(shown, encoding="utf-8")
        shown = ""
    lines = [line.rstrip() for line in (shown + err.getvalue()).splitlines()]
    while lines and not lines[-1]:
        lines.pop()
    if command.show_exit:
        lines.append(f"exit {code}")
    return code, lines


def console_blocks(lines: list[str]) -> list[tuple[Block, list[Command]]]:
    return [(block, commands(block)) for block in blocks(lines) if block.language == "console"]


def regenerate(lines: list[str]) -> list[str]:
    """The README with every ```console block's output replaced by what its commands print."""
    bodies = []
    with scratch(lines):  # in the README's order: a command may read what an earlier one wrote
        for block, found in console_blocks(lines):
            body = []
            for command in found:
                code, output = run(command)
                if code and not command.show_exit:
                    raise SystemExit(f"`$ {command.line}` exits {code}: end it with {SHOW_EXIT}")
                body += [f"$ {command.line}", *output]
            bodies.append((block, body))
    new = list(lines)
    for block, body in reversed(bodies):  # from the end, so earlier line numbers hold
        new[block.start:block.end] = body
    return new


def main(argv: list[str]) -> int:
    import difflib

    lines = README.read_text(encoding="utf-8").splitlines()
    if stray := stray_commands(lines):
        print("Commands outside ```console blocks:", *stray, sep="\n", file=sys.stderr)
        return 1
    new = regenerate(lines)
    if "--write" in argv:
        if new != lines:
            README.write_text("\n".join(new) + "\n", encoding="utf-8")
            print("README.md: output blocks rewritten", file=sys.stderr)
        return 0
    diff = list(difflib.unified_diff(lines, new, "README.md", "what the commands print",
                                     lineterm=""))
    print("\n".join(diff) or "README.md is up to date")
    return 1 if diff else 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main(sys.argv[1:]))
