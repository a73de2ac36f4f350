"""``ember.autograd.graph``: the graph's node type, as in ``torch.autograd.graph``."""
from __future__ import annotations

from typing import NamedTuple

from .function import Node, _edge

__all__ = ["Node", "GradientEdge", "get_gradient_edge"]


class GradientEdge(NamedTuple):
    """Where a tensor's gradient flows: a graph node and which of its outputs."""
    node: Node
    output_nr: int


def get_gradient_edge(tensor) -> GradientEdge:
    """The edge that gradients for ``tensor`` flow into (its grad_fn, or its leaf
    accumulator). Differs from torch: edges are not accepted by ``backward``/``grad``."""
    if not tensor.requires_grad:
        raise RuntimeError("It is not possible to get the gradient edge for a Tensor that does "
                           "not require gradients")
    return GradientEdge(*_edge(tensor))
