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
    children, irregular = _children(nodes, err)
    topo, cycle = _order_or_cycle(tree, children)
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
    order, depth, parent = _preorder(tree.root.id, nodes, children, irregular)
    leaves = [node_id for node_id in order if not children[node_id]]
    compiled = CompiledTree(
        file=tree, root=tree.root.id, nodes=nodes, children=children, formulas=formulas,
        order=order, depth=depth, parent=parent, topo=topo, leaves=leaves,
        guardrails=[g.id for g in tree.guardrails],
    )
    if any(d.is_error for d in diagnostics):
        return None, diagnostics
    return compiled, diagnostics


def _children(nodes: dict[str, Node], err) -> tuple[dict[str, list[str]], set[str]]:
    """Each node's children that exist, each once (a bad `ref` or a repeat is reported), and
    the nodes whose children are not simply the nodes they define (refs, repeats, refused)."""
    children: dict[str, list[str]] = {}
    irregular: set[str] = set()
    for node in nodes.values():
        ids = [child.id for child in node.children if not child.is_ref]
        unique = set(ids)
        if len(ids) == len(node.children) == len(unique) and nodes.keys() >= unique:
            children[node.id] = ids   # the usual case: nothing to report
            continue
        irregular.add(node.id)
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
    return children, irregular


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
        has_source = node.source is not None or "source" in node.keys
        has_value = node.value is not None or "value" in node.keys
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
    kid_set, names = set(kids), set(formula.names)
    if names == kid_set:
        return formula   # every child used, nothing else: the usual case
    for name in formula.names:
        if name not in kid_set:
            hint = suggest(name, kids) or (f": its children are {', '.join(kids)}" if kids
                                            else "")
            err("E203", f"formula of '{node.id}' uses '{name}', which is not one of its "
                f"children{hint}", node.formula_span(formula.name_offsets[name]))
    for child in node.children:
        if child.id in kid_set and child.id not in names:
            err("E204", f"child '{child.id}' is not used by the formula of '{node.id}': use it "
                "in the formula or move it elsewhere", child.span)
    return formula


def _order_or_cycle(tree: TreeFile, children: dict[str, list[str]]):
    """Every node, children before parents, and None; or None and the first cycle found
    (a list of ids and the span of the edge that closes it). One depth-first walk."""
    done: dict[str, bool] = {}   # False while the node is on the walk's path
    order: list[str] = []
    for start in children:
        if start in done:
            continue
        done[start] = False
        path = [start]
        walks = [iter(children[start])]
        while walks:
            for kid in walks[-1]:
                finished = done.get(kid)
                if finished is None:
                    done[kid] = False
                    path.append(kid)
                    walks.append(iter(children[kid]))
                    break
                if not finished:
                    return None, (path[path.index(kid):] + [kid], _edge_span(tree, path[-1], kid))
            else:
                walks.pop()
                node_id = path.pop()
                done[node_id] = True
                order.append(node_id)
    return order, None


def _edge_span(tree: TreeFile, parent: str, kid: str) -> Span:
    """Where `parent` lists `kid` (the last time), else the parent itself."""
    node = tree.nodes[parent]
    return next((c.span for c in reversed(node.children) if c.id == kid), node.span)


def _preorder(root: str, nodes: dict[str, Node], children: dict[str, list[str]],
              irregular: set[str]):
    """Pre-order over definitions: a `ref` child is not visited again where it is referenced.
    Only the `irregular` nodes (see :func:`_children`) need their definitions read again."""
    order: list[str] = []
    depth: dict[str, int] = {}
    parent: dict[str, str | None] = {root: None}
    stack: list[tuple[str, int]] = [(root, 0)]
    pop, push = stack.pop, stack.append
    while stack:
        node_id, level = pop()
        order.append(node_id)
        depth[node_id] = level
        level += 1
        defined = children[node_id] if node_id not in irregular else [
            c.id for c in nodes[node_id].children if not c.is_ref and c.id in nodes]
        for kid in reversed(defined):
            parent[kid] = node_id
            push((kid, level))
    if not irregular:
        return order, depth, parent   # every child is defined where it is listed: all seen
    seen = set(order)
    # shared drivers defined outside the root's subtree (e.g. under a guardrail) still belong
    for node_id in order:   # the loop also visits what it appends
        kids = children[node_id]
        if seen.issuperset(kids):
            continue
        for kid in kids:
            if kid not in seen:
                seen.add(kid)
                order.append(kid)
                depth[kid] = depth[node_id] + 1
                parent[kid] = node_id
    return order, depth, parent
