"""torch.return_types: the named tuples returned by max/min along a dim, sort, topk,
kthvalue, median, mode, aminmax, cummax/cummin (``values, indices = x.max(1)``).

Defined next to the ops that return them; re-exported here under torch's names so that
``ember.return_types.max`` exists and the tuples pickle.
"""
from ._ops.reduction import (  # noqa: F401
    MaxResult as max, MinResult as min, AminmaxResult as aminmax, CummaxResult as cummax,
    CumminResult as cummin,
)
from ._ops.sorting import (  # noqa: F401
    SortResult as sort, TopkResult as topk, KthvalueResult as kthvalue, MedianResult as median,
    NanmedianResult as nanmedian, ModeResult as mode,
)

__all__ = ["max", "min", "aminmax", "cummax", "cummin", "sort", "topk", "kthvalue", "median",
           "nanmedian", "mode"]
