"""Recurrent layers: ``RNN``, ``LSTM``, ``GRU`` and their single-step cells.

Parameters, their names (``weight_ih_l0``, ``weight_hh_l0_reverse``, ``bias_ih_l1``,
``weight_hr_l0``...), shapes, gate order and default initialisation are torch's, so
state dicts move between the two libraries unchanged.

Each direction of each layer runs as one fused primitive
(:class:`ember._ops.rnn.RecurrentLayer`): one GEMM for the input projection of the whole
sequence, one GEMM per time step for all gates, and a hand-written backward through time.

Differs from torch: the fused backward is not differentiable again (like torch's cuDNN
path): ``create_graph=True`` works, but differentiating the resulting gradients through
the layer raises a RuntimeError. ``flatten_parameters()`` is a no-op (there is no cuDNN).
"""
from __future__ import annotations

import math
import numbers
import warnings

from ..._tensor import Tensor
from ..._backend import dtypes as _dt
from ..._ops.creation import empty as _empty, zeros as _zeros
from ..._ops.shape import cat as _cat, stack as _stack
from ..._ops.rnn import GATES as _GATES, RecurrentLayer
from ...autograd.grad_mode import no_grad
from ..parameter import Parameter
from ..utils.rnn import PackedSequence
from .module import Module

__all__ = ["RNNBase", "RNN", "LSTM", "GRU", "RNNCellBase", "RNNCell", "LSTMCell", "GRUCell"]


def _apply_permutation(t: Tensor, permutation: Tensor, dim: int = 1) -> Tensor:
    return t.index_select(dim, permutation)


def _uniform_all(module: Module, hidden_size: int) -> None:
    stdv = 1.0 / math.sqrt(hidden_size) if hidden_size > 0 else 0
    with no_grad():
        for weight in module.parameters():
            weight.uniform_(-stdv, stdv)


class RNNBase(Module):
    """Base class of :class:`RNN`, :class:`LSTM` and :class:`GRU` (as torch's)."""

    def __init__(self, mode: str, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, proj_size: int = 0, device=None,
                 dtype=None) -> None:
        super().__init__()
        self.mode = mode
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bias = bias
        self.batch_first = batch_first
        if (not isinstance(dropout, numbers.Number) or isinstance(dropout, bool)
                or not 0 <= dropout <= 1):
            raise ValueError("dropout should be a number in range [0, 1] representing the "
                             "probability of an element being zeroed")
        self.dropout = float(dropout)
        self.bidirectional = bidirectional
        self.proj_size = proj_size
        if dropout > 0 and num_layers == 1:
            warnings.warn("dropout option adds dropout after all but last recurrent layer, so "
                          "non-zero dropout expects num_layers greater than 1, but got "
                          f"dropout={dropout} and num_layers={num_layers}", stacklevel=2)
        if not isinstance(bias, bool):
            raise TypeError(f"bias should be of type bool, got: {type(bias).__name__}")
        if not isinstance(batch_first, bool):
            raise TypeError(f"batch_first should be of type bool, got: "
                            f"{type(batch_first).__name__}")
        if not isinstance(input_size, int):
            raise TypeError(f"input_size should be of type int, got: "
                            f"{type(input_size).__name__}")
        if input_size <= 0:
            raise ValueError("input_size must be greater than zero")
        if not isinstance(hidden_size, int):
            raise TypeError(f"hidden_size should be of type int, got: "
                            f"{type(hidden_size).__name__}")
        if hidden_size <= 0:
            raise ValueError("hidden_size must be greater than zero")
        if num_layers <= 0:
            raise ValueError("num_layers must be greater than zero")
        if proj_size < 0:
            raise ValueError("proj_size should be a positive integer or zero to disable "
                             "projections")
        if proj_size >= hidden_size:
            raise ValueError("proj_size has to be smaller than hidden_size")
        if mode not in _GATES:
            raise ValueError("Unrecognized RNN mode: " + mode)
        gate_size = _GATES[mode] * hidden_size
        num_directions = 2 if bidirectional else 1
        real_hidden = proj_size if proj_size > 0 else hidden_size
        dt = _dt.get_default_dtype() if dtype is None else dtype
        self._flat_weights_names: list[str] = []
        self._all_weights: list[list[str]] = []
        for layer in range(num_layers):
            for direction in range(num_directions):
                layer_input = input_size if layer == 0 else real_hidden * num_directions
                shapes = [(gate_size, layer_input), (gate_size, real_hidden)]
                names = ["weight_ih_l{}{}", "weight_hh_l{}{}"]
                if bias:
                    shapes += [(gate_size,), (gate_size,)]
                    names += ["bias_ih_l{}{}", "bias_hh_l{}{}"]
                if proj_size > 0:
                    shapes.append((proj_size, hidden_size))
                    names.append("weight_hr_l{}{}")
                suffix = "_reverse" if direction == 1 else ""
                names = [n.format(layer, suffix) for n in names]
                for name, shape in zip(names, shapes):
                    setattr(self, name, Parameter(_empty(shape, dtype=dt, device=device)))
                self._flat_weights_names.extend(names)
                self._all_weights.append(names)
        self.reset_parameters()

    # ---- torch's weight bookkeeping -----------------------------------------------------
    @property
    def _flat_weights(self) -> list:
        return [getattr(self, n, None) for n in self._flat_weights_names]

    @property
    def all_weights(self) -> list[list[Parameter]]:
        return [[getattr(self, w) for w in ws] for ws in self._all_weights]

    def flatten_parameters(self) -> None:
        """No-op (torch uses it to pack weights for cuDNN)."""

    def reset_parameters(self) -> None:
        """Every weight and bias ~ U(-1/sqrt(hidden_size), 1/sqrt(hidden_size))."""
        _uniform_all(self, self.hidden_size)

    def extra_repr(self) -> str:
        s = "{input_size}, {hidden_size}"
        if self.proj_size != 0:
            s += ", proj_size={proj_size}"
        if self.num_layers != 1:
            s += ", num_layers={num_layers}"
        if self.bias is not True:
            s += ", bias={bias}"
        if self.batch_first is not False:
            s += ", batch_first={batch_first}"
        if self.dropout != 0:
            s += ", dropout={dropout}"
        if self.bidirectional is not False:
            s += ", bidirectional={bidirectional}"
        return s.format(**self.__dict__)

    def __setstate__(self, state):
        super().__setstate__(state)
        self.__dict__.setdefault("proj_size", 0)

    # ---- argument checks (torch's messages) -------------------------------------------------
    def check_input(self, input: Tensor, batch_sizes) -> None:
        w0 = getattr(self, self._flat_weights_names[0])
        if input.dtype is not w0.dtype:
            raise ValueError(
                f"RNN input dtype ({input.dtype}) does not match weight dtype ({w0.dtype}). "
                f"Convert input: input.to({w0.dtype}), or convert model: "
                f"model.to({input.dtype})")
        expected = 2 if batch_sizes is not None else 3
        if input.dim() != expected:
            raise RuntimeError(f"input must have {expected} dimensions, got {input.dim()}")
        if self.input_size != input.size(-1):
            raise RuntimeError(f"input.size(-1) must be equal to input_size. Expected "
                               f"{self.input_size}, got {input.size(-1)}")

    def get_expected_hidden_size(self, input: Tensor, batch_sizes) -> tuple[int, int, int]:
        if batch_sizes is not None:
            mini_batch = batch_sizes[0]
        else:
            mini_batch = input.size(0) if self.batch_first else input.size(1)
        num_directions = 2 if self.bidirectional else 1
        real_hidden = self.proj_size if self.proj_size > 0 else self.hidden_size
        return (self.num_layers * num_directions, mini_batch, real_hidden)

    def check_hidden_size(self, hx: Tensor, expected_hidden_size,
                          msg: str = "Expected hidden size {}, got {}") -> None:
        if tuple(hx.size()) != tuple(expected_hidden_size):
            raise RuntimeError(msg.format(tuple(expected_hidden_size), list(hx.size())))

    def check_forward_args(self, input: Tensor, hidden: Tensor, batch_sizes) -> None:
        self.check_input(input, batch_sizes)
        self.check_hidden_size(hidden, self.get_expected_hidden_size(input, batch_sizes))

    def permute_hidden(self, hx: Tensor, permutation: Tensor | None):
        if permutation is None:
            return hx
        return _apply_permutation(hx, permutation)

    # ---- the computation --------------------------------------------------------------------
    def _run(self, input: Tensor, hx: Tensor, cx: Tensor | None, batch_sizes):
        """All layers and directions. ``input`` is time-major ``(T, B, I)`` or packed
        ``(N, I)``; returns ``(output, h_n, c_n or None)``."""
        lstm = self.mode == "LSTM"
        D = 2 if self.bidirectional else 1
        params = self._parameters
        names = self._all_weights
        proj = self.proj_size > 0
        layer_in = input
        hs, cs = [], []
        for layer in range(self.num_layers):
            outs = []
            for d in range(D):
                k = layer * D + d
                args = [layer_in, hx[k]]
                if lstm:
                    args.append(cx[k])
                args.extend(params[n] for n in names[k])
                res = RecurrentLayer.apply(*args, mode=self.mode, batch_sizes=batch_sizes,
                                           reverse=d == 1, bias=self.bias, proj=proj)
                outs.append(res[0])
                hs.append(res[1])
                if lstm:
                    cs.append(res[2])
            layer_in = outs[0] if D == 1 else _cat(outs, -1)
            if self.dropout and self.training and layer < self.num_layers - 1:
                from .. import functional as F
                layer_in = F.dropout(layer_in, self.dropout, True)
        return layer_in, _stack(hs, 0), (_stack(cs, 0) if lstm else None)

    def _forward_impl(self, input, hx):
        """Shared forward of RNN/GRU (``hx`` a tensor) and LSTM (``hx`` a pair)."""
        lstm = self.mode == "LSTM"
        name = {"LSTM": "LSTM", "GRU": "GRU"}.get(self.mode, "RNN")
        D = 2 if self.bidirectional else 1
        real_hidden = self.proj_size if self.proj_size > 0 else self.hidden_size
        packed = isinstance(input, PackedSequence)
        is_batched = True
        batch_dim = 0 if self.batch_first else 1
        if packed:
            input, bs_tensor, sorted_indices, unsorted_indices = input
            batch_sizes = tuple(int(b) for b in bs_tensor.tolist())
            max_batch = batch_sizes[0]
        else:
            batch_sizes = bs_tensor = sorted_indices = unsorted_indices = None
            if input.dim() not in (2, 3):
                tail = "D tensor instead" if name == "RNN" else "D instead"
                raise ValueError(f"{name}: Expected input to be 2D or 3D, got "
                                 f"{input.dim()}{tail}")
            is_batched = input.dim() == 3
            if not is_batched:
                input = input.unsqueeze(batch_dim)
            if hx is not None:
                if lstm:
                    want = 3 if is_batched else 2
                    if hx[0].dim() != want or hx[1].dim() != want:
                        kind = "batched 3-D" if is_batched else "unbatched 2-D"
                        raise RuntimeError(f"For {kind} input, hx and cx should also be "
                                           f"{want}-D but got ({hx[0].dim()}-D, "
                                           f"{hx[1].dim()}-D) tensors")
                    if not is_batched:
                        hx = (hx[0].unsqueeze(1), hx[1].unsqueeze(1))
                elif is_batched and hx.dim() != 3:
                    raise RuntimeError(f"For batched 3-D input, hx should also be 3-D but got "
                                       f"{hx.dim()}-D tensor")
                elif not is_batched:
                    if hx.dim() != 2:
                        raise RuntimeError(f"For unbatched 2-D input, hx should also be 2-D "
                                           f"but got {hx.dim()}-D tensor")
                    hx = hx.unsqueeze(1)
            max_batch = input.size(0) if self.batch_first else input.size(1)
        if hx is None:
            h = _zeros((self.num_layers * D, max_batch, real_hidden), dtype=input.dtype)
            hx = (h, _zeros((self.num_layers * D, max_batch, self.hidden_size),
                            dtype=input.dtype)) if lstm else h
        else:
            hx = self.permute_hidden(hx, sorted_indices)
        self.check_forward_args(input, hx, batch_sizes)
        x = input
        if not packed and self.batch_first:
            x = x.transpose(0, 1)
        if lstm:
            out, h_n, c_n = self._run(x, hx[0], hx[1], batch_sizes)
            hidden = (h_n, c_n)
        else:
            out, hidden, _ = self._run(x, hx, None, batch_sizes)
        if packed:
            out = PackedSequence(out, bs_tensor, sorted_indices, unsorted_indices)
            return out, self.permute_hidden(hidden, unsorted_indices)
        if self.batch_first:
            out = out.transpose(0, 1)
        if not is_batched:
            out = out.squeeze(batch_dim)
            hidden = (hidden[0].squeeze(1), hidden[1].squeeze(1)) if lstm \
                else hidden.squeeze(1)
        return out, hidden

    def forward(self, input, hx=None):
        return self._forward_impl(input, hx)


class RNN(RNNBase):
    """Elman RNN, ``h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh)`` (or ReLU).

    ``RNN(input_size, hidden_size, num_layers=1, nonlinearity='tanh', bias=True,
    batch_first=False, dropout=0.0, bidirectional=False)``. Returns ``(output, h_n)``.
    """

    def __init__(self, *args, **kwargs):
        if "proj_size" in kwargs:
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        if len(args) > 3:
            self.nonlinearity = args[3]
            args = args[:3] + args[4:]
        else:
            self.nonlinearity = kwargs.pop("nonlinearity", "tanh")
        if self.nonlinearity == "tanh":
            mode = "RNN_TANH"
        elif self.nonlinearity == "relu":
            mode = "RNN_RELU"
        else:
            raise ValueError(f"Unknown nonlinearity '{self.nonlinearity}'. Select from 'tanh' "
                             "or 'relu'.")
        super().__init__(mode, *args, **kwargs)


class LSTM(RNNBase):
    """Long short-term memory, torch's gate order ``i, f, g, o``; optional ``proj_size``.

    ``LSTM(input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
    dropout=0.0, bidirectional=False, proj_size=0)``. Returns
    ``(output, (h_n, c_n))``.
    """

    def __init__(self, *args, **kwargs):
        super().__init__("LSTM", *args, **kwargs)

    def get_expected_cell_size(self, input: Tensor, batch_sizes) -> tuple[int, int, int]:
        if batch_sizes is not None:
            mini_batch = batch_sizes[0]
        else:
            mini_batch = input.size(0) if self.batch_first else input.size(1)
        num_directions = 2 if self.bidirectional else 1
        return (self.num_layers * num_directions, mini_batch, self.hidden_size)

    def check_forward_args(self, input: Tensor, hidden, batch_sizes) -> None:
        self.check_input(input, batch_sizes)
        self.check_hidden_size(hidden[0], self.get_expected_hidden_size(input, batch_sizes),
                               "Expected hidden[0] size {}, got {}")
        self.check_hidden_size(hidden[1], self.get_expected_cell_size(input, batch_sizes),
                               "Expected hidden[1] size {}, got {}")

    def permute_hidden(self, hx, permutation: Tensor | None):
        if permutation is None:
            return hx
        return (_apply_permutation(hx[0], permutation),
                _apply_permutation(hx[1], permutation))


class GRU(RNNBase):
    """Gated recurrent unit, torch's gate order ``r, z, n`` with
    ``n = tanh(W_in x + b_in + r * (W_hn h + b_hn))`` and ``h' = (1 - z) n + z h``.

    ``GRU(input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
    dropout=0.0, bidirectional=False)``. Returns ``(output, h_n)``.
    """

    def __init__(self, *args, **kwargs):
        if "proj_size" in kwargs:
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        super().__init__("GRU", *args, **kwargs)


# ---------------------------------------------------------------------------------------
# Cells
# ---------------------------------------------------------------------------------------
class RNNCellBase(Module):
    """Base of the single-step cells: ``weight_ih``, ``weight_hh``, ``bias_ih``,
    ``bias_hh``."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool, num_chunks: int,
                 device=None, dtype=None) -> None:
        super().__init__()
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.bias = bias
        dt = _dt.get_default_dtype() if dtype is None else dtype
        g = num_chunks * hidden_size
        self.weight_ih = Parameter(_empty((g, input_size), dtype=dt, device=device))
        self.weight_hh = Parameter(_empty((g, hidden_size), dtype=dt, device=device))
        if bias:
            self.bias_ih = Parameter(_empty((g,), dtype=dt, device=device))
            self.bias_hh = Parameter(_empty((g,), dtype=dt, device=device))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def extra_repr(self) -> str:
        s = "{input_size}, {hidden_size}"
        if "bias" in self.__dict__ and self.bias is not True:
            s += ", bias={bias}"
        if "nonlinearity" in self.__dict__ and self.nonlinearity != "tanh":
            s += ", nonlinearity={nonlinearity}"
        return s.format(**self.__dict__)

    def reset_parameters(self) -> None:
        _uniform_all(self, self.hidden_size)

    def _step(self, name: str, mode: str, input: Tensor, hx):
        """Validate like torch's ``_VF.*_cell`` and run one fused step."""
        lstm = mode == "LSTM"
        if input.dim() not in (1, 2):
            raise ValueError(f"{name}: Expected input to be 1D or 2D, got {input.dim()}D "
                             "instead")
        if hx is not None:
            if lstm:
                for idx, value in enumerate(hx):
                    if value.dim() not in (1, 2):
                        raise ValueError(f"{name}: Expected hx[{idx}] to be 1D or 2D, got "
                                         f"{value.dim()}D instead")
            elif hx.dim() not in (1, 2):
                raise ValueError(f"{name}: Expected hidden to be 1D or 2D, got {hx.dim()}D "
                                 "instead")
        is_batched = input.dim() == 2
        if not is_batched:
            input = input.unsqueeze(0)
        if hx is None:
            z = _zeros((input.size(0), self.hidden_size), dtype=input.dtype)
            states = [z, z] if lstm else [z]
        else:
            states = list(hx) if lstm else [hx]
            if not is_batched:
                states = [s.unsqueeze(0) for s in states]
        if input.size(1) != self.input_size:
            raise RuntimeError(f"input has inconsistent input_size: got {input.size(1)} "
                               f"expected {self.input_size}")
        for i, s in enumerate(states):
            if s.size(0) != input.size(0):
                raise RuntimeError(f"Input batch size {input.size(0)} doesn't match hidden{i} "
                                   f"batch size {s.size(0)}")
            if s.size(1) != self.hidden_size:
                raise RuntimeError(f"hidden{i} has inconsistent hidden_size: got {s.size(1)}, "
                                   f"expected {self.hidden_size}")
        if input.dtype is not self.weight_ih.dtype:
            raise RuntimeError(f"expected scalar type {self.weight_ih.dtype.name.capitalize()} "
                               f"but found {input.dtype.name.capitalize()}")
        weights = [self.weight_ih, self.weight_hh]
        if self.bias:
            weights += [self.bias_ih, self.bias_hh]
        res = RecurrentLayer.apply(input.unsqueeze(0), *states, *weights, mode=mode,
                                   bias=bool(self.bias))
        if lstm:
            out = (res[1], res[2])
            return out if is_batched else (out[0].squeeze(0), out[1].squeeze(0))
        return res[1] if is_batched else res[1].squeeze(0)


class RNNCell(RNNCellBase):
    """One step of an Elman RNN: ``h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh)``."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 nonlinearity: str = "tanh", device=None, dtype=None) -> None:
        super().__init__(input_size, hidden_size, bias, num_chunks=1, device=device,
                         dtype=dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        if self.nonlinearity == "tanh":
            mode = "RNN_TANH"
        elif self.nonlinearity == "relu":
            mode = "RNN_RELU"
        else:
            raise RuntimeError(f"Unknown nonlinearity: {self.nonlinearity}")
        return self._step("RNNCell", mode, input, hx)


class LSTMCell(RNNCellBase):
    """One LSTM step; returns ``(h', c')``."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None,
                 dtype=None) -> None:
        super().__init__(input_size, hidden_size, bias, num_chunks=4, device=device,
                         dtype=dtype)

    def forward(self, input: Tensor, hx: tuple[Tensor, Tensor] | None = None
                ) -> tuple[Tensor, Tensor]:
        return self._step("LSTMCell", "LSTM", input, hx)


class GRUCell(RNNCellBase):
    """One GRU step; returns ``h'``."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None,
                 dtype=None) -> None:
        super().__init__(input_size, hidden_size, bias, num_chunks=3, device=device,
                         dtype=dtype)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        return self._step("GRUCell", "GRU", input, hx)
