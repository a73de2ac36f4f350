"""``ember.optim``: torch.optim's optimizers, learning-rate schedulers and SWA utilities.

Every optimizer reproduces torch's single-tensor update arithmetic (the path torch runs on
CPU), in place on the parameters' data, so trajectories match torch's.
"""
from . import lr_scheduler, swa_utils  # noqa: F401
from .adadelta import Adadelta
from .adagrad import Adagrad
from .adam import Adam
from .adamax import Adamax
from .adamw import AdamW
from .asgd import ASGD
from .lbfgs import LBFGS
from .nadam import NAdam
from .optimizer import Optimizer
from .radam import RAdam
from .rmsprop import RMSprop
from .rprop import Rprop
from .sgd import SGD
from .sparse_adam import SparseAdam
from . import _functional, _multi_tensor  # noqa: F401

# like torch, keep the per-optimizer modules out of the package namespace
del adadelta, adagrad, adam, adamax, adamw, asgd, lbfgs, nadam, optimizer, radam  # noqa: F821
del rmsprop, rprop, sgd, sparse_adam, _kernels  # noqa: F821

__all__ = ["ASGD", "Adadelta", "Adagrad", "Adam", "AdamW", "Adamax", "LBFGS", "NAdam",
           "Optimizer", "RAdam", "RMSprop", "Rprop", "SGD", "SparseAdam", "lr_scheduler",
           "swa_utils"]
