"""``ember.optim``: torch.optim's optimizers, learning-rate schedulers and SWA utilities.

Every optimizer reproduces torch's single-tensor update arithmetic (the path torch runs on
CPU), in place on the parameters' data, so trajectories match torch's.
"""
from . import lr_scheduler, swa_utils  # noqa: F401
from .adafactor import Adafactor
from .adadelta import Adadelta
from .adagrad import Adagrad
from .adam import Adam
from .adamax import Adamax
from .adamw import AdamW
from .asgd import ASGD
from .lbfgs import LBFGS
from .muon import Muon
from .nadam import NAdam
from .optimizer import Optimizer
from .radam import RAdam
from .rmsprop import RMSprop
from .rprop import Rprop
from .sgd import SGD
from .sparse_adam import SparseAdam
from . import _functional, _multi_tensor  # noqa: F401
from . import adafactor as _adafactor, muon as _muon  # noqa: F401  (torch's module names)

# like torch, keep the per-optimizer modules out of the package namespace
del adadelta, adagrad, adam, adamax, adamw, asgd, lbfgs, nadam, optimizer, radam  # noqa: F821
del rmsprop, rprop, sgd, sparse_adam, _kernels, adafactor, muon  # noqa: F821

__all__ = ["ASGD", "Adadelta", "Adafactor", "Adagrad", "Adam", "AdamW", "Adamax", "LBFGS",
           "Muon", "NAdam", "Optimizer", "RAdam", "RMSprop", "Rprop", "SGD", "SparseAdam",
           "lr_scheduler", "swa_utils"]
