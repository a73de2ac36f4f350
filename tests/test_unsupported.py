"""torch names ember lacks raise NotImplementedError that says so; unknown names stay
AttributeError."""
import pytest
import torch

import ember.nn as nn
import ember.nn.functional as F
from ember.nn import _unsupported


@pytest.mark.parametrize("mod, names, tmod", [(nn, _unsupported.MODULES, torch.nn),
                                              (F, _unsupported.FUNCTIONS, torch.nn.functional)])
def test_missing_torch_names_raise_not_implemented(mod, names, tmod):
    for name in names:
        assert hasattr(tmod, name), name          # the list names real torch API only
        with pytest.raises(NotImplementedError, match="not implemented in ember"):
            getattr(mod, name)


def test_hasattr_stays_false():
    assert not hasattr(nn, "CTCLoss") and not hasattr(F, "ctc_loss")


def test_unknown_name_is_attribute_error():
    with pytest.raises(AttributeError):
        nn.NoSuchLayer
    with pytest.raises(AttributeError):
        F.no_such_function
