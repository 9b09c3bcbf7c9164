"""What every tree-quality rule receives and returns."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from nsm_cli.diagnostics import Span

if TYPE_CHECKING:
    from nsm_cli.analysis.evaluate import Evaluation
    from nsm_cli.check.config import Config
    from nsm_cli.data.load import DataStore
    from nsm_cli.tree.compile import CompiledTree
    from nsm_cli.tree.model import Node


@dataclass
class RuleContext:
    """A compiled tree, the settings, and its values when the data could be loaded."""

    tree: CompiledTree
    config: Config
    evaluation: Evaluation | None = None   # None when the tree's data has errors
    data: DataStore | None = None


@dataclass(frozen=True)
class Finding:
    """One problem a rule found: the node it belongs to (for `ignore:`), a message, a place."""

    node_id: str
    message: str
    span: Span


def leaf_findings(ctx: RuleContext, problem: Callable[[str, Node], str | None]
                  ) -> Iterator[Finding]:
    """A finding at every leaf of which `problem(id, node)` says what is wrong."""
    for node_id in ctx.tree.leaves:
        node = ctx.tree.nodes[node_id]
        if (message := problem(node_id, node)) is not None:
            yield Finding(node_id, message, node.span)
