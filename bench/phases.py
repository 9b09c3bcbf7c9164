"""Where one `nsm eval` spends its time: CPU seconds per stage, in one process, largest first.

    .venv/bin/python bench/phases.py bench/out/balanced_5461_100.yaml json
    .venv/bin/python bench/phases.py bench/out/balanced_5461_100.yaml text

CPU time (`time.process_time`), not wall time, so a busy shared machine shifts the figures
less; the stages are the ones `nsm eval` runs, called one by one. Prints a Markdown list.
"""

from __future__ import annotations

import gc
import io
import sys
import time

CLOCK = time.process_time


def stages(path: str, output: str) -> dict[str, float]:
    spent: dict[str, float] = {}
    started = CLOCK()
    import numpy  # noqa: F401  (what every run imports)
    import rich.console  # noqa: F401
    import typer  # noqa: F401
    import yaml  # noqa: F401
    spent["import numpy, yaml, typer, rich"] = CLOCK() - started
    started = CLOCK()
    from nsm_cli.analysis.eval_result import eval_result
    from nsm_cli.analysis.evaluate import evaluate
    from nsm_cli.cli.app import stdout_console
    from nsm_cli.data.load import LoadedTree, load_data
    from nsm_cli.render import to_json
    from nsm_cli.render.eval_formats import render_text
    from nsm_cli.render.plain import plain_text
    from nsm_cli.tree.alert_rules import tree_problems
    from nsm_cli.tree.compile import compile_tree
    from nsm_cli.tree.parser import parse_tree
    spent["import nsm"] = CLOCK() - started

    def timed(name, work, *args):
        began = CLOCK()
        value = work(*args)
        spent[name] = spent.get(name, 0.0) + CLOCK() - began
        return value

    gc.disable()   # as the CLI does for the whole run (data/runtime.py collector_paused)
    parsed, _ = timed("YAML compose + parse", parse_tree, path)
    timed("compile formulas (+ alert rules)", tree_problems, parsed)
    compiled, _ = timed("compile formulas (+ alert rules)", compile_tree, parsed)
    store, _ = timed("read data (CSV)", load_data, parsed)
    evaluation = timed("evaluate", evaluate, LoadedTree(compiled, store, []))
    result = timed("result (per-node figures)", eval_result, evaluation,
                   evaluation.period_index(None))
    if output == "json":
        timed("write JSON", to_json, result)
    else:
        console = stdout_console()
        console.file = io.StringIO()
        rendered = timed("text: title and tree guides", render_text, result)
        timed("text: build, measure and lay out the table", plain_text, rendered, console)
    return spent


def main(argv: list[str]) -> int:
    path, output = argv[0], (argv[1] if len(argv) > 1 else "json")
    spent = stages(path, output)
    total = sum(spent.values())
    print(f"CPU seconds of `nsm eval {path}{' --format json' if output == 'json' else ''}`"
          f" stage by stage: {total:.2f} s in all")
    for name, seconds in sorted(spent.items(), key=lambda item: -item[1]):
        print(f"- {name}: {seconds:.3f} s ({seconds / total:.0%})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
