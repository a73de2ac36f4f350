"""nn.Module, nn.Parameter and the containers, against torch; the seed tutorials' snippets."""
from __future__ import annotations

import contextlib
import copy
import io
import pickle
from collections import OrderedDict

import numpy as np
import pytest
import torch

import ember
from ember import nn
from ember.autograd import Variable
from nn_helpers import load_from_torch


def both(fn):
    """Run ``fn(M, nn)`` for torch and ember; return both results."""
    return fn(torch, torch.nn), fn(ember, ember.nn)


def printed(fn, *args) -> str:
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        fn(*args)
    return buf.getvalue()


def same_text(t: str, e: str):
    assert e == t.replace("torch.", "ember."), f"\nember:\n{e}\ntorch:\n{t}"


# ---------------------------------------------------------------------------------------
# Parameter
# ---------------------------------------------------------------------------------------
def test_parameter_repr_and_subclass():
    t, e = both(lambda M, nn_: repr(nn_.Parameter(M.Tensor([1, 2, 3]))))
    assert e == t == "Parameter containing:\ntensor([1., 2., 3.], requires_grad=True)"
    p = nn.Parameter(ember.Tensor([1, 2, 3]))
    assert isinstance(p, ember.Tensor) and p.is_leaf and p.requires_grad
    assert type(p * 2) is ember.Tensor          # ops give plain tensors, as in torch
    q = nn.Parameter(ember.ones(2), requires_grad=False)
    assert not q.requires_grad
    assert str(nn.Parameter(ember.zeros(2, dtype=ember.float64))) == \
        str(torch.nn.Parameter(torch.zeros(2, dtype=torch.float64))).replace("torch.", "ember.")


def test_parameter_shares_memory_and_pickles():
    base = ember.zeros(3)
    p = nn.Parameter(base)
    with ember.no_grad():
        p.add_(1)
    assert base.tolist() == [1.0, 1.0, 1.0]
    q = pickle.loads(pickle.dumps(p))
    assert isinstance(q, nn.Parameter) and q.requires_grad and q.tolist() == [1, 1, 1]
    r = copy.deepcopy(p)
    assert isinstance(r, nn.Parameter) and r.data_ptr() != p.data_ptr()
    with pytest.raises(RuntimeError, match="floating point"):
        nn.Parameter(ember.tensor([1, 2]))


# ---------------------------------------------------------------------------------------
# Registration, iteration, errors
# ---------------------------------------------------------------------------------------
def _make_net(M, nn_):
    class Block(nn_.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn_.Conv2d(1, 4, 3)
            self.bn = nn_.BatchNorm2d(4)
            self.register_buffer("scale", M.ones(1))
            self.register_buffer("tmp", M.zeros(1), persistent=False)
            self.plain = M.zeros(2)            # a plain tensor is not registered

        def forward(self, x):
            return self.bn(self.conv1(x)) * self.scale

    class Net(nn_.Module):
        def __init__(self):
            super().__init__()
            self.block = Block()
            self.fc = nn_.Linear(4, 2)
            self.extra = nn_.Parameter(M.zeros(3))
            self.none_param = None
            self.register_parameter("missing", None)

        def forward(self, x):
            return self.fc(self.block(x).mean((2, 3)))
    return Net()


def test_registration_and_iteration_match_torch():
    t, e = both(_make_net)
    assert [n for n, _ in e.named_parameters()] == [n for n, _ in t.named_parameters()]
    assert [n for n, _ in e.named_buffers()] == [n for n, _ in t.named_buffers()]
    assert [n for n, _ in e.named_modules()] == [n for n, _ in t.named_modules()]
    assert [n for n, _ in e.named_children()] == [n for n, _ in t.named_children()]
    assert list(e.state_dict().keys()) == list(t.state_dict().keys())
    assert "block.bn.num_batches_tracked" in e.state_dict()
    assert "block.tmp" not in e.state_dict()
    assert len(list(e.parameters(recurse=False))) == len(list(t.parameters(recurse=False)))
    assert len(list(e.buffers())) == len(list(t.buffers()))
    assert len(list(e.modules())) == len(list(t.modules()))
    assert e.get_submodule("block.conv1") is e.block.conv1
    assert e.get_parameter("block.conv1.weight") is e.block.conv1.weight
    assert e.get_buffer("block.bn.running_mean") is e.block.bn.running_mean
    assert isinstance(e.block.plain, ember.Tensor) and "plain" not in dict(e.block.named_buffers())
    assert e.missing is None
    assert repr(e) == repr(t)


def test_shared_parameters_yield_once():
    def make(M, nn_):
        lin = nn_.Linear(2, 2)
        return nn_.Sequential(lin, nn_.ReLU(), lin)
    t, e = both(make)
    assert len(list(e.parameters())) == len(list(t.parameters())) == 2
    assert list(e.state_dict()) == list(t.state_dict())
    assert len(list(e.named_parameters(remove_duplicate=False))) == 4


@pytest.mark.parametrize("action", [
    lambda M, nn_, m: m.foo,
    lambda M, nn_, m: m.register_parameter("a.b", None),
    lambda M, nn_, m: m.register_parameter("", None),
    lambda M, nn_, m: m.register_parameter("fc", None),
    lambda M, nn_, m: m.register_parameter("w", M.zeros(2)),
    lambda M, nn_, m: m.register_buffer("x.y", M.zeros(1)),
    lambda M, nn_, m: m.register_buffer("b", [1, 2]),
    lambda M, nn_, m: m.add_module("q", 3),
    lambda M, nn_, m: m.add_module("a.b", nn_.ReLU()),
    lambda M, nn_, m: setattr(m, "extra", M.zeros(3)),
    lambda M, nn_, m: setattr(m, "fc", 3),
    lambda M, nn_, m: m.get_submodule("block.nothing"),
    lambda M, nn_, m: m.get_submodule("block.scale"),
    lambda M, nn_, m: m.get_parameter("block.scale"),
    lambda M, nn_, m: m.train("yes"),
    lambda M, nn_, m: nn_.Module().forward(1),
    lambda M, nn_, m: m.register_parameter("w2", nn_.Parameter(M.zeros(2)) * 2),
])
def test_module_errors_match_torch(action):
    errs = []
    for M, nn_ in ((torch, torch.nn), (ember, ember.nn)):
        m = _make_net(M, nn_)
        with pytest.raises(Exception) as info:
            action(M, nn_, m)
        errs.append(info.value)
    t, e = errs
    assert type(e) is type(t), (e, t)
    assert str(e).replace("ember.", "torch.") == str(t) or isinstance(t, TypeError), (str(e), str(t))


def test_unknown_attribute_message():
    class MyModel(nn.Module):
        pass
    with pytest.raises(AttributeError, match="^'MyModel' object has no attribute 'foo'$"):
        MyModel().foo


def test_assignment_before_init_and_reassignment():
    class Early(nn.Module):
        def __init__(self):
            self.w = nn.Parameter(ember.zeros(1))
    with pytest.raises(AttributeError, match="cannot assign parameters before Module.__init__"):
        Early()
    m = nn.Linear(2, 2)
    m.bias = None                      # registered slot set to None
    assert "bias" not in m.state_dict()
    m.weight = nn.Parameter(ember.zeros(2, 2))
    assert m.weight.tolist() == [[0, 0], [0, 0]]
    del m.weight
    assert "weight" not in dict(m.named_parameters())
    m.buf = nn.Buffer(ember.ones(2), persistent=False)
    assert "buf" in dict(m.named_buffers()) and "buf" not in m.state_dict()


def test_modes_zero_grad_requires_grad():
    m = _make_net(ember, ember.nn)
    assert m.training and m.block.bn.training
    assert m.eval() is m and not m.block.bn.training
    m.train()
    out = m(ember.randn(2, 1, 5, 5)).sum()
    out.backward()
    assert all(p.grad is not None for p in m.parameters() if p.requires_grad and p is not m.extra)
    m.zero_grad(set_to_none=False)
    assert all(float(p.grad.abs().sum()) == 0 for p in m.parameters() if p.grad is not None)
    m.zero_grad()
    assert all(p.grad is None for p in m.parameters())
    m.requires_grad_(False)
    assert not any(p.requires_grad for p in m.parameters())


def test_dtype_conversion_keeps_parameter_identity():
    m = _make_net(ember, ember.nn)
    w = m.fc.weight
    assert m.double() is m
    assert m.fc.weight is w and w.dtype is ember.float64
    assert m.block.bn.num_batches_tracked.dtype is ember.int64
    m.to(ember.float32)
    assert w.dtype is ember.float32
    m.half()
    assert w.dtype is ember.float16 and m.block.bn.running_mean.dtype is ember.float16
    m.type(ember.float64)
    assert m.block.scale.dtype is ember.float64
    m.float().cpu().to("cpu")
    with pytest.raises(TypeError, match="floating point or complex"):
        m.to(ember.int64)
    seen = []
    m.apply(lambda mod: seen.append(type(mod).__name__))
    assert seen[-1] == "Net" and seen[0] == "Conv2d"


def test_cuda_raises_clear_error():
    assert ember.cuda.is_available() is False
    m = nn.Linear(1, 1)
    with pytest.raises(RuntimeError, match="cuda"):
        m.cuda()
    with pytest.raises(RuntimeError, match="cuda"):
        m.to("cuda")


# ---------------------------------------------------------------------------------------
# state_dict / load_state_dict
# ---------------------------------------------------------------------------------------
def test_state_dict_roundtrip_and_sharing():
    t, e = both(_make_net)
    load_from_torch(e, t)
    sd = e.state_dict()
    assert isinstance(sd, OrderedDict)
    for k, v in t.state_dict().items():
        np.testing.assert_array_equal(sd[k].numpy(), v.numpy())
        assert not sd[k].requires_grad
    sd["fc.bias"].fill_(7)                       # values share memory with the module
    assert e.fc.bias.tolist() == [7, 7]
    kv = e.state_dict(keep_vars=True)
    assert kv["fc.weight"] is e.fc.weight


def _load_error(M, nn_, sd_edit):
    m = nn_.Linear(5, 3)
    sd = {k: v.detach().clone() for k, v in m.state_dict().items()}
    sd_edit(M, sd)
    with pytest.raises(RuntimeError) as info:
        m.load_state_dict(sd)
    return str(info.value)


@pytest.mark.parametrize("edit", [
    lambda M, sd: sd.pop("bias"),
    lambda M, sd: sd.update(foo=M.zeros(1)),
    lambda M, sd: sd.update(weight=M.zeros(4, 5)),
    lambda M, sd: (sd.pop("bias"), sd.update(x=M.zeros(1), weight=M.zeros(2))),
])
def test_load_state_dict_error_messages(edit):
    t = _load_error(torch, torch.nn, edit)
    e = _load_error(ember, ember.nn, edit)
    assert e == t.replace("torch.", "ember."), f"\n{e}\n{t}"


def test_load_state_dict_non_strict_and_assign():
    t, e = both(lambda M, nn_: nn_.Linear(2, 2))
    sd = {"weight": ember.ones(2, 2), "junk": ember.zeros(1)}
    res = e.load_state_dict(sd, strict=False)
    tres = t.load_state_dict({"weight": torch.ones(2, 2), "junk": torch.zeros(1)}, strict=False)
    assert res.missing_keys == tres.missing_keys == ["bias"]
    assert res.unexpected_keys == tres.unexpected_keys == ["junk"]
    assert repr(e.load_state_dict(e.state_dict())) == "<All keys matched successfully>"
    w = ember.full((2, 2), 3.0)
    e.load_state_dict({"weight": w, "bias": ember.zeros(2)}, assign=True)
    assert isinstance(e.weight, nn.Parameter) and e.weight.data_ptr() == w.data_ptr()
    with pytest.raises(TypeError, match="dict-like"):
        e.load_state_dict([1, 2])


def test_batchnorm_state_without_num_batches_tracked_loads():
    bn = nn.BatchNorm1d(3)
    sd = {k: v for k, v in bn.state_dict().items() if k != "num_batches_tracked"}
    assert bn.load_state_dict(sd).missing_keys == []


# ---------------------------------------------------------------------------------------
# Hooks
# ---------------------------------------------------------------------------------------
def test_forward_and_backward_hooks_match_torch():
    tm = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 2))
    em = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))
    load_from_torch(em, tm)
    results = []
    for M, nn_, mod in ((torch, torch.nn, tm), (ember, ember.nn, em)):
        log, gin, gout = [], [], []
        mod[0].register_forward_pre_hook(lambda m, args: (args[0] * 2,))
        h = mod[2].register_forward_hook(lambda m, args, out: out + 1)
        mod[1].register_forward_hook(lambda m, args, out: log.append(tuple(out.shape)))
        mod[2].register_full_backward_hook(
            lambda m, gi, go: (gin.append(gi[0].numpy().copy()),
                               gout.append(go[0].numpy().copy())) and None)
        x = M.tensor(np.linspace(-1, 1, 6).reshape(2, 3), requires_grad=True)
        y = mod(x.float())
        y.sum().backward()
        h.remove()
        y2 = mod(x.float())
        results.append((y.detach().numpy(), y2.detach().numpy(), log, gin, gout,
                        x.grad.numpy()))
    (ty, ty2, tlog, tgin, tgout, tgx), (ey, ey2, elog, egin, egout, egx) = results
    np.testing.assert_allclose(ey, ty, rtol=1e-6)
    np.testing.assert_allclose(ey2, ty2, rtol=1e-6)
    assert elog == tlog
    np.testing.assert_allclose(egin[0], tgin[0], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(egout[0], tgout[0], rtol=1e-6)
    np.testing.assert_allclose(egx, tgx, rtol=1e-5, atol=1e-6)


def test_backward_hook_can_replace_grad_input():
    m = nn.Linear(2, 2)
    m.register_full_backward_hook(lambda mod, gi, go: (gi[0] * 0,))
    x = ember.ones(1, 2, requires_grad=True)
    m(x).sum().backward()
    assert x.grad.tolist() == [[0.0, 0.0]]


def test_forward_hook_with_kwargs_and_global_hooks():
    from ember.nn.modules.module import register_module_forward_hook
    m = nn.Linear(2, 2)
    seen = []
    m.register_forward_pre_hook(lambda mod, args, kwargs: (args, kwargs), with_kwargs=True)
    m.register_forward_hook(lambda mod, args, kwargs, out: seen.append("kw"), with_kwargs=True)
    h = register_module_forward_hook(lambda mod, args, out: seen.append("global"))
    m(ember.ones(1, 2))
    h.remove()
    m(ember.ones(1, 2))
    assert seen == ["global", "kw", "kw"]


# ---------------------------------------------------------------------------------------
# Containers
# ---------------------------------------------------------------------------------------
def test_sequential_api_matches_torch():
    def make(M, nn_):
        s = nn_.Sequential(nn_.Linear(2, 3), nn_.ReLU(), nn_.Linear(3, 1))
        out = [repr(s), repr(s[0]), repr(s[-1]), repr(s[1:]), len(s)]
        s.append(nn_.Sigmoid())
        s.insert(1, nn_.Tanh())
        s.insert(-1, nn_.Identity())
        out += [repr(s), len(s)]
        del s[0]
        out.append(repr(s))
        s[0] = nn_.ELU()
        out.append(repr(s))
        popped = s.pop(1)
        out += [repr(popped), repr(s), repr(s + s), repr(s * 2)]
        s.extend([nn_.ReLU6()])
        out.append(repr(s))
        od = nn_.Sequential(OrderedDict([("conv", nn_.Conv2d(1, 2, 3)), ("act", nn_.ReLU())]))
        out += [repr(od), [n for n, _ in od.named_parameters()], repr(od.act)]
        return out
    t, e = both(make)
    assert e == t
    with pytest.raises(IndexError, match="index 5 is out of range"):
        nn.Sequential(nn.ReLU())[5]


def test_sequential_forward_and_iteration():
    tm = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU(), torch.nn.Linear(3, 2))
    em = load_from_torch(nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2)), tm)
    x = np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32)
    np.testing.assert_allclose(em(ember.from_numpy(x)).detach().numpy(),
                               tm(torch.from_numpy(x)).detach().numpy(), rtol=1e-5)
    assert [type(m).__name__ for m in em] == ["Linear", "ReLU", "Linear"]


def test_module_list_dict_param_list_dict():
    def make(M, nn_):
        ml = nn_.ModuleList([nn_.Linear(2, 2) for _ in range(3)])
        ml.append(nn_.ReLU())
        ml.extend([nn_.ReLU(), nn_.Tanh()])
        ml.insert(1, nn_.Sigmoid())
        out = [repr(ml), len(ml), repr(ml[1:3]), repr(ml[-1])]
        del ml[0]
        out.append(repr(ml))
        md = nn_.ModuleDict({"b": nn_.ReLU(), "a": nn_.Linear(1, 1)})
        md["c"] = nn_.Tanh()
        out += [repr(md), list(md.keys()), "a" in md, len(md), repr(md.pop("b"))]
        pl = nn_.ParameterList([nn_.Parameter(M.zeros(2)), M.ones(3, dtype=M.float64)])
        pl.append(M.ones(1))
        out += [repr(pl), len(pl), [n for n, _ in pl.named_parameters()],
                type(pl[1]).__name__]
        pd = nn_.ParameterDict({"w": nn_.Parameter(M.zeros(2, 2)), "b": M.ones(2)})
        pd["z"] = M.zeros(1)
        out += [repr(pd), list(pd.keys()), [n for n, _ in pd.named_parameters()],
                "w" in pd, type(pd["b"]).__name__]
        container = nn_.Module()
        container.layers = ml
        container.heads = md
        container.pl = pl
        out.append(list(container.state_dict().keys()))
        return out
    t, e = both(make)
    assert e[0] == t[0]
    for i, (a, b) in enumerate(zip(e, t)):
        # dtypes print as ember.float64; Tensor.type() names stay torch's ("torch.FloatTensor")
        assert a == b or a == b.replace("torch.float", "ember.float"), (i, a, b)


def test_module_list_repr_compresses_repeats():
    t, e = both(lambda M, nn_: repr(nn_.ModuleList([nn_.Linear(4, 4) for _ in range(3)]
                                                   + [nn_.ReLU()])))
    assert e == t and "(0-2): 3 x Linear" in e


# ---------------------------------------------------------------------------------------
# The seed tutorials, imports changed only
# ---------------------------------------------------------------------------------------
def test_seed000_quadratic_model():
    def run(M, nn_):
        class MyModel(nn_.Module):
            def __init__(self):
                super(MyModel, self).__init__()
                self.a = nn_.Parameter(M.tensor([1.]))
                self.b = nn_.Parameter(M.tensor([2.]))
                self.c = nn_.Parameter(M.tensor([3.]))

            def forward(self, x):
                y = self.a * (x ** 2)
                y += self.b * (x ** 1)
                y += self.c
                return y

        xs = M.tensor([1.00, 2.00, 3.00, 4.00, 5.00, 6.00, 7.00, 8.00, 9.00])
        ys = M.tensor([9.15, 5.64, -0.21, -2.36, -0.91, -0.67, 2.65, 10.36, 17.13])
        model = MyModel()
        for param in model.parameters():
            print(param)
        for name, param in model.named_parameters():
            print(name, param)
        criterion = nn_.MSELoss()
        for epoch in range(200):
            y_pred = model(xs)
            loss = criterion(y_pred, ys)
            model.zero_grad()
            loss.backward()
            with M.no_grad():
                for p in model.parameters():
                    p -= 1e-4 * p.grad
            if epoch % 50 == 0:
                print(f"Loss after {epoch} steps: {loss}")
        print(loss)
    t = printed(run, torch, torch.nn)
    e = printed(run, ember, ember.nn)
    same_text(t, e)
    assert "grad_fn=<MseLossBackward0>" in e and "Parameter containing:" in e


def test_seed002_seed003_linear_regression():
    def run(M, nn_, tm=None):
        class MyLiner(nn_.Module):
            def __init__(self, in_features, out_features, bias=True):
                super().__init__()
                self.weights = nn_.Parameter(M.ones(in_features, out_features))
                self.bias = nn_.Parameter(M.zeros(out_features))

            def forward(self, x):
                return x @ self.weights + self.bias

        layer = MyLiner(7, 12)
        print(layer(M.ones(5, 7)).shape)
        print(nn_.Parameter(M.Tensor([1, 2, 3])))
        print(M.Tensor([1, 2, 3]))
        w = M.tensor(2.0, requires_grad=True)
        z = 10 * w ** 2 + 25
        z.backward()
        print(w.grad)

        x_train = np.array([i for i in range(11)], dtype=np.float32).reshape(-1, 1)
        y_train = np.array([2 * i + 1 for i in range(11)], dtype=np.float32).reshape(-1, 1)

        class LinearRegression(nn_.Module):
            def __init__(self, inputSize, outputSize):
                super(LinearRegression, self).__init__()
                self.linear = M.nn.Linear(inputSize, outputSize)

            def forward(self, x):
                return self.linear(x)

        model = LinearRegression(1, 1)
        if tm is not None:
            model.load_state_dict({k: M.tensor(v.detach().numpy())
                                   for k, v in tm.state_dict().items()})
        if M.cuda.is_available():
            model.cuda()
        criterion = M.nn.MSELoss()
        lr = 0.01
        for epoch in range(100):
            inputs = Var(M)(M.from_numpy(x_train))
            labels = Var(M)(M.from_numpy(y_train))
            model.zero_grad()
            outputs = model(inputs)
            loss = criterion(outputs, labels)
            print(loss)
            loss.backward()
            with M.no_grad():
                for p in model.parameters():
                    p.sub_(lr * p.grad)
            print('epoch {}, loss {}'.format(epoch, loss.item()))
        with M.no_grad():
            predicted = model(Var(M)(M.from_numpy(x_train))).data.numpy()
            print(predicted)
        for p in model.parameters():
            if p.requires_grad:
                print(p.name, p.data)
        return model

    def Var(M):
        return torch.autograd.Variable if M is torch else Variable

    torch.manual_seed(0)
    tmodel = torch.nn.Linear(1, 1)
    holder = torch.nn.Module()
    holder.linear = tmodel
    t = printed(run, torch, torch.nn, holder)
    e = printed(run, ember, ember.nn, holder)
    same_text(t, e)
    assert "grad_fn=<MseLossBackward0>" in e and "None tensor([[" in e


class Lambda:
    """Seed 004's Lambda module, built for either library."""

    @staticmethod
    def make(nn_):
        class Lambda(nn_.Module):
            def __init__(self, func):
                super().__init__()
                self.func = func

            def forward(self, x):
                return self.func(x)
        return Lambda


def _seed004_models(M, nn_):
    F_ = M.nn.functional

    class Mnist_Logistic(nn_.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn_.Linear(784, 10)

        def forward(self, xb):
            return self.lin(xb)

    class Mnist_CNN(nn_.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn_.Conv2d(1, 16, kernel_size=3, stride=2, padding=1)
            self.conv2 = nn_.Conv2d(16, 16, kernel_size=3, stride=2, padding=1)
            self.conv3 = nn_.Conv2d(16, 10, kernel_size=3, stride=2, padding=1)

        def forward(self, xb):
            xb = xb.view(-1, 1, 28, 28)
            xb = F_.relu(self.conv1(xb))
            xb = F_.relu(self.conv2(xb))
            xb = F_.relu(self.conv3(xb))
            xb = F_.avg_pool2d(xb, 4)
            return xb.view(-1, xb.size(1))

    L = Lambda.make(nn_)

    def preprocess(x):
        return x.view(-1, 1, 28, 28)

    seq = nn_.Sequential(
        L(preprocess),
        nn_.Conv2d(1, 16, kernel_size=3, stride=2, padding=1),
        nn_.ReLU(),
        nn_.Conv2d(16, 16, kernel_size=3, stride=2, padding=1),
        nn_.ReLU(),
        nn_.Conv2d(16, 10, kernel_size=3, stride=2, padding=1),
        nn_.ReLU(),
        nn_.AvgPool2d(4),
        L(lambda x: x.view(x.size(0), -1)),
    )
    return Mnist_Logistic(), Mnist_CNN(), seq


def test_seed004_print_model_identical():
    t, e = both(_seed004_models)
    for tm, em in zip(t, e):
        assert repr(em) == repr(tm), f"\n{em}\n{tm}"
        assert str(em) == str(tm)


def test_seed004_training_matches_torch():
    rng = np.random.default_rng(0)
    x = rng.random((64, 784), dtype=np.float32)
    y = rng.integers(0, 10, 64)
    tms = _seed004_models(torch, torch.nn)
    ems = _seed004_models(ember, ember.nn)
    for tm, em in zip(tms, ems):
        load_from_torch(em, tm)
        for M, m in ((torch, tm), (ember, em)):
            xb, yb = M.from_numpy(x.copy()), M.from_numpy(y.copy())
            m.train()
            for _ in range(3):
                loss = M.nn.functional.cross_entropy(m(xb), yb)
                loss.backward()
                with M.no_grad():
                    for p in m.parameters():
                        p -= p.grad * 0.5
                    m.zero_grad()
            m.eval()
            with M.no_grad():
                out = m(xb)
                acc = (M.argmax(out, dim=1) == yb).float().mean()
            m.result = (loss.item(), out.numpy().copy(), acc.item())
        assert abs(em.result[0] - tm.result[0]) < 1e-5
        np.testing.assert_allclose(em.result[1], tm.result[1], rtol=1e-4, atol=1e-5)
        assert em.result[2] == tm.result[2]
        assert repr(loss).startswith("tensor(")


def test_deepcopy_pickle_and_dir():
    m = _make_net(ember, ember.nn)
    c = copy.deepcopy(m)
    assert list(c.state_dict()) == list(m.state_dict())
    assert c.fc.weight is not m.fc.weight and isinstance(c.fc.weight, nn.Parameter)
    np.testing.assert_array_equal(c.fc.weight.detach().numpy(), m.fc.weight.detach().numpy())
    seq = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3), nn.ReLU())
    p = pickle.loads(pickle.dumps(seq))
    assert repr(p) == repr(seq) and list(p.state_dict()) == list(seq.state_dict())
    out = p(ember.ones(4, 2))
    assert out.shape == (4, 3)
    assert {"fc", "block", "extra", "forward", "training"} <= set(dir(m))
    assert not any(k.isdigit() for k in dir(seq))
