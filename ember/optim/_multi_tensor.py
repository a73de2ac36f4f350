"""torch.optim._multi_tensor: the optimizers with ``foreach=True`` preset.

In torch this selects the multi-tensor (``_foreach_*``) kernels. ember has a single
implementation of each update (torch's single-tensor arithmetic), so these classes compute
exactly what the plain optimizers compute; they exist so code that names them runs.
"""
from functools import partialmethod

from . import (ASGD as _ASGD, Adadelta as _Adadelta, Adagrad as _Adagrad, Adam as _Adam,
               AdamW as _AdamW, Adamax as _Adamax, NAdam as _NAdam, RAdam as _RAdam,
               RMSprop as _RMSprop, Rprop as _Rprop, SGD as _SGD)


def partialclass(cls, *args, **kwargs):
    """A subclass of ``cls`` whose constructor has ``args``/``kwargs`` preset."""
    class NewCls(cls):
        __init__ = partialmethod(cls.__init__, *args, **kwargs)
    NewCls.__name__ = NewCls.__qualname__ = cls.__name__
    return NewCls


Adam = partialclass(_Adam, foreach=True)
AdamW = partialclass(_AdamW, foreach=True)
NAdam = partialclass(_NAdam, foreach=True)
SGD = partialclass(_SGD, foreach=True)
RAdam = partialclass(_RAdam, foreach=True)
RMSprop = partialclass(_RMSprop, foreach=True)
Rprop = partialclass(_Rprop, foreach=True)
ASGD = partialclass(_ASGD, foreach=True)
Adamax = partialclass(_Adamax, foreach=True)
Adadelta = partialclass(_Adadelta, foreach=True)
Adagrad = partialclass(_Adagrad, foreach=True)
