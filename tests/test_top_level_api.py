"""Top-level API odds and ends: set_num_threads/get_num_threads, and torch names ember lacks
raising NotImplementedError (not a bare AttributeError)."""
import pytest
import torch

import ember
from ember._unsupported import FUNCTIONS


def test_num_threads_roundtrip():
    before = ember.get_num_threads()
    try:
        ember.set_num_threads(1)
        assert ember.get_num_threads() == 1
        ember.set_num_threads(2)
        assert ember.get_num_threads() == 2
    finally:
        ember.set_num_threads(before)
    assert ember.get_num_threads() == before


@pytest.mark.parametrize("arg", [0, -1, 1.5, "2"])
def test_set_num_threads_errors_match_torch(arg):
    with pytest.raises(Exception) as te:
        torch.set_num_threads(arg)
    with pytest.raises(Exception) as ee:
        ember.set_num_threads(arg)
    assert type(ee.value) is type(te.value)
    assert str(ee.value) == str(te.value)


def test_unsupported_top_level_names():
    with pytest.raises(NotImplementedError, match="ember.lgamma exists in torch"):
        ember.lgamma
    assert not hasattr(ember, "histc")                  # still an AttributeError too
    with pytest.raises(AttributeError, match="has no attribute 'no_such_fn'"):
        ember.no_such_fn


def test_unsupported_list_is_torch_names_ember_lacks():
    for name in FUNCTIONS:
        assert hasattr(torch, name), name
        assert name not in dir(ember), name
