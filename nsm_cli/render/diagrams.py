"""`nsm eval --format mermaid|dot`: the tree as a diagram other tools draw.

Mermaid renders inside GitHub Markdown; Graphviz `dot` makes an image anywhere. Node
ids in the diagram are `n0, n1, …` (a tree id like `end` or `graph` would be a keyword),
and every label is escaped for the target language: names are untrusted text.
"""

from __future__ import annotations

from nsm_cli.analysis.results import EvalNode, EvalResult
from nsm_cli.diagnostics import escape_control
from nsm_cli.numbers import value_text

MERMAID_STATUS = {"ahead": "ahead", "behind": "behind", "on_par": "on_par"}
MERMAID_CLASSES = (
    "classDef ahead fill:#e6f4ea,stroke:#1e8e3e,color:#0d3b1e",
    "classDef behind fill:#fce8e6,stroke:#d93025,color:#5c0f0a",
    "classDef on_par fill:#fef7e0,stroke:#f9ab00,color:#4a3800",
    "classDef guard fill:#f1f3f4,stroke:#5f6368,stroke-dasharray:4 3",
)
DOT_COLOURS = {"ahead": "#e6f4ea", "behind": "#fce8e6", "on_par": "#fef7e0", None: "#ffffff"}


def one_line(text: str) -> str:
    """Any run of whitespace (a newline too) as one space: labels are a line each; other
    control characters (an escape sequence) shown as `\\x1b`, never sent to a terminal."""
    return escape_control(" ".join(str(text).split()))


def mermaid_text(text: str) -> str:
    """Text inside a quoted Mermaid label: entity codes for what Mermaid would parse."""
    table = {"#": "#35;", '"': "#quot;", "<": "#lt;", ">": "#gt;", "&": "#amp;",
             "`": "#96;", "|": "#124;", "[": "#91;", "]": "#93;", "{": "#123;", "}": "#125;"}
    return "".join(table.get(char, char) for char in one_line(text))


def dot_text(text: str) -> str:
    """Text inside a double-quoted DOT string: backslashes and quotes escaped."""
    return one_line(text).replace("\\", "\\\\").replace('"', '\\"')


def _label_lines(node: EvalNode) -> list[str]:
    lines = [node.name, value_text(node.value, node.unit)]
    if node.target is not None:
        lines.append("target " + value_text(node.target, node.unit))
    return lines


def _short_ids(result: EvalResult) -> dict[str, str]:
    ids = [node.id for node in result.nodes] + [guard.id for guard in result.guardrails]
    return {node_id: f"n{position}" for position, node_id in enumerate(ids)}


def _edges(result: EvalResult) -> list[tuple[str, str]]:
    return [(node.id, kid) for node in result.nodes for kid in node.children]


def render_mermaid(result: EvalResult) -> str:
    """A Mermaid `flowchart TD`: one box per node with its name and value, coloured by status."""
    short = _short_ids(result)
    lines = [f"%% {one_line(result.tree or result.root)} · period {result.period}",
             "flowchart TD"]
    for node in result.nodes:
        label = "<br/>".join(mermaid_text(line) for line in _label_lines(node))
        lines.append(f'    {short[node.id]}["{label}"]')
    for parent, kid in _edges(result):
        lines.append(f"    {short[parent]} --> {short[kid]}")
    if result.guardrails:
        lines.append('    subgraph guardrails["Guardrails"]')
        for guard in result.guardrails:
            label = "<br/>".join(mermaid_text(line) for line in
                                 (guard.name, value_text(guard.value, guard.unit)))
            lines.append(f'        {short[guard.id]}["{label}"]')
        lines.append("    end")
    lines += [f"    {line}" for line in MERMAID_CLASSES]
    for node in result.nodes:
        if node.status in MERMAID_STATUS:
            lines.append(f"    class {short[node.id]} {MERMAID_STATUS[node.status]}")
    for guard in result.guardrails:
        lines.append(f"    class {short[guard.id]} {'behind' if guard.breached else 'guard'}")
    return "\n".join(lines) + "\n"


def render_dot(result: EvalResult) -> str:
    """A Graphviz `digraph`, top to bottom, boxes filled by status against the benchmark."""
    short = _short_ids(result)
    title = dot_text(f"{result.tree or result.root} · period {result.period}")
    lines = ["digraph nsm {", f'    label="{title}";', "    labelloc=t;", "    rankdir=TB;",
             '    node [shape=box, style="rounded,filled", fontname="sans-serif"];']
    for node in result.nodes:
        label = "\\n".join(dot_text(line) for line in _label_lines(node))
        fill = DOT_COLOURS.get(node.status, "#ffffff")
        lines.append(f'    {short[node.id]} [label="{label}", fillcolor="{fill}"];')
    for parent, kid in _edges(result):
        lines.append(f"    {short[parent]} -> {short[kid]};")
    if result.guardrails:
        lines += ["    subgraph cluster_guardrails {", '        label="Guardrails";',
                  "        style=dashed;"]
        for guard in result.guardrails:
            label = "\\n".join(dot_text(line) for line in
                               (guard.name, value_text(guard.value, guard.unit)))
            fill = DOT_COLOURS["behind"] if guard.breached else "#f1f3f4"
            lines.append(f'        {short[guard.id]} [label="{label}", fillcolor="{fill}"];')
        lines.append("    }")
    lines.append("}")
    return "\n".join(lines) + "\n"
