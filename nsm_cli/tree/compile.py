"""Parsed tree → compiled tree: references resolved, cycles refused, formulas compiled.

The compiled tree knows its evaluation order (children before parents), so
values can be filled in one pass, and the leaves that every analysis steps.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from nsm_cli.diagnostics import Diagnostic, Span, error
from nsm_cli.tree.formula import Formula, FormulaError, compile_formula
from nsm_cli.tree.model import Node, TreeFile
from nsm_cli.tree.parser import points_problem, suggest


@dataclass
class CompiledTree:
    file: TreeFile
    root: str
    nodes: dict[str, Node]
    children: dict[str, list[str]]
    formulas: dict[str, Formula]
    order: list[str]             # the tree in pre-order, each node once, where it is defined
    depth: dict[str, int]        # depth where the node is defined (root 0)
    parent: dict[str, str | None]  # the node where it is defined
    topo: list[str]              # every node (tree and guardrails), children first
    leaves: list[str]            # tree leaves in pre-order, shared drivers once
    guardrails: list[str] = field(default_factory=list)

    @property
    def path(self) -> str:
        return self.file.path

    def header(self) -> dict[str, object]:
        """What every command's result says about the tree it ran on."""
        root = self.nodes[self.root]
        return {"tree": self.file.name, "file": self.path, "root": self.root,
                "root_name": root.name, "root_unit": root.unit}

    def ancestors(self, node_id: str) -> set[str]:
        """Every node whose value depends on this one (through any path)."""
        up: dict[str, list[str]] = {}
        for parent, kids in self.children.items():
            for kid in kids:
                up.setdefault(kid, []).append(parent)
        seen: set[str] = set()
        stack = [node_id]
        while stack:
            for parent in up.get(stack.pop(), []):
                if parent not in seen:
                    seen.add(parent)
                    stack.append(parent)
        return seen


def compile_tree(tree: TreeFile) -> tuple[CompiledTree | None, list[Diagnostic]]:
    """Resolve and check the structure; None when the tree cannot be evaluated."""
    diagnostics: list[Diagnostic] = []

    def err(code: str, message: str, span: Span) -> None:
        diagnostics.append(error(code, message, span))

    nodes = tree.nodes
    children: dict[str, list[str]] = {}
    for node in nodes.values():
        kids: list[str] = []
        for child in node.children:
            if child.id not in nodes:
                if not child.is_ref:
                    continue  # a child whose id was refused: already reported by the parser
                err("E108", f"ref '{child.id}' names no node in this file"
                    f"{suggest(child.id, list(nodes))}", child.span)
                continue
            if child.id in kids:
                err("E107", f"'{child.id}' is listed twice under '{node.id}'", child.span)
                continue
            kids.append(child.id)
        children[node.id] = kids

    cycle = _find_cycle(tree, children)
    if cycle is not None:
        path, span = cycle
        err("E109", "cycle: " + " → ".join(path) + ": a node cannot depend on itself", span)
        return None, diagnostics

    formulas: dict[str, Formula] = {}
    for node in nodes.values():
        formula = _check_node(node, children[node.id], err)
        if formula is not None:
            formulas[node.id] = formula

    for scenario in tree.scenarios.values():
        for change in scenario.changes:
            target = nodes.get(change.node_id)
            if target is None:
                err("E108", f"scenario '{scenario.name}' sets '{change.node_id}', which is no "
                    f"node in this file{suggest(change.node_id, list(nodes))}",
                    change.span or scenario.span)
            if problem := points_problem(change, target):
                err("E111", problem, change.span or scenario.span)

    if tree.root is None or tree.root.id not in nodes:
        return None, diagnostics
    order, depth, parent = _preorder(tree.root.id, nodes, children)
    topo = _topological(list(nodes), children)
    leaves = [node_id for node_id in order if not children[node_id]]
    compiled = CompiledTree(
        file=tree, root=tree.root.id, nodes=nodes, children=children, formulas=formulas,
        order=order, depth=depth, parent=parent, topo=topo, leaves=leaves,
        guardrails=[g.id for g in tree.guardrails],
    )
    if any(d.is_error for d in diagnostics):
        return None, diagnostics
    return compiled, diagnostics


def _check_node(node: Node, kids: list[str], err) -> Formula | None:
    if node.children:
        if node.value is not None:
            err("E110", f"'{node.id}' has children, so its value comes from its formula: "
                "remove 'value' (use 'source' for an observed value)", node.span_of("value"))
        if node.formula is None:
            err("E205", f"'{node.id}' has children but no formula: add formula: "
                f"{' + '.join(kids) or '...'} (or how they combine)", node.span)
            return None
    else:
        if node.formula is not None:
            err("E206", f"'{node.id}' has a formula but no children: list the nodes its formula "
                "uses under children, or give the leaf a source or value",
                node.formula_span())
            return None
        has_source, has_value = "source" in node.keys, "value" in node.keys
        if has_source and has_value:
            err("E110", f"leaf '{node.id}' has both source and value: keep one",
                node.span_of("value"))
        elif not has_source and not has_value:
            err("E110", f"leaf '{node.id}' needs a source (NAME.column) or a value", node.span)
        return None
    if node.formula is None:
        return None
    try:
        formula = compile_formula(node.formula)
    except FormulaError as exc:
        err(exc.code, f"formula of '{node.id}': {exc.message}", node.formula_span(exc.offset))
        return None
    for name in formula.names:
        if name not in kids:
            hint = suggest(name, kids) or (f": its children are {', '.join(kids)}" if kids
                                            else "")
            err("E203", f"formula of '{node.id}' uses '{name}', which is not one of its "
                f"children{hint}", node.formula_span(formula.name_offsets[name]))
    for child in node.children:
        if child.id in kids and child.id not in formula.names:
            err("E204", f"child '{child.id}' is not used by the formula of '{node.id}': use it "
                "in the formula or move it elsewhere", child.span)
    return formula


def _find_cycle(tree: TreeFile, children: dict[str, list[str]]):
    """The first cycle found as a list of ids and the span of the edge that closes it."""
    white, grey, black = 0, 1, 2
    colour = dict.fromkeys(children, white)
    spans = {(n.id, c.id): c.span for n in tree.nodes.values() for c in n.children}
    for start in children:
        if colour[start] != white:
            continue
        stack: list[tuple[str, int]] = [(start, 0)]
        path = [start]
        colour[start] = grey
        while stack:
            node_id, index = stack[-1]
            kids = children[node_id]
            if index < len(kids):
                stack[-1] = (node_id, index + 1)
                kid = kids[index]
                if colour[kid] == grey:
                    loop = path[path.index(kid):] + [kid]
                    return loop, spans.get((node_id, kid), tree.nodes[node_id].span)
                if colour[kid] == white:
                    colour[kid] = grey
                    stack.append((kid, 0))
                    path.append(kid)
            else:
                colour[node_id] = black
                stack.pop()
                path.pop()
    return None


def _preorder(root: str, nodes: dict[str, Node], children: dict[str, list[str]]):
    """Pre-order over definitions: a `ref` child is not visited again where it is referenced."""
    order: list[str] = []
    depth: dict[str, int] = {}
    parent: dict[str, str | None] = {root: None}
    stack: list[tuple[str, int]] = [(root, 0)]
    while stack:
        node_id, level = stack.pop()
        order.append(node_id)
        depth[node_id] = level
        defined = [c.id for c in nodes[node_id].children if not c.is_ref and c.id in nodes]
        for kid in reversed(defined):
            parent[kid] = node_id
            stack.append((kid, level + 1))
    seen = set(order)
    # shared drivers defined outside the root's subtree (e.g. under a guardrail) still belong
    index = 0
    while index < len(order):
        node_id = order[index]
        index += 1
        for kid in children[node_id]:
            if kid not in seen:
                seen.add(kid)
                order.append(kid)
                depth[kid] = depth[node_id] + 1
                parent[kid] = node_id
    return order, depth, parent


def _topological(ids: list[str], children: dict[str, list[str]]) -> list[str]:
    """Children before parents (the graph has no cycle here)."""
    result: list[str] = []
    done: set[str] = set()
    for start in ids:
        if start in done:
            continue
        stack: list[tuple[str, int]] = [(start, 0)]
        while stack:
            node_id, index = stack[-1]
            kids = children[node_id]
            if index < len(kids):
                stack[-1] = (node_id, index + 1)
                if kids[index] not in done:
                    stack.append((kids[index], 0))
            else:
                stack.pop()
                if node_id not in done:
                    done.add(node_id)
                    result.append(node_id)
    return result
