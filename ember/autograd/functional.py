"""A small subset of torch.autograd.functional: ``jacobian``, ``hessian``, ``vjp``."""
from __future__ import annotations


def vjp(func, inputs, v=None, create_graph=False, strict=False):
    from . import grad
    single = not isinstance(inputs, (tuple, list))
    ins = (inputs,) if single else tuple(inputs)
    ins = tuple(i.detach().requires_grad_(True) for i in ins)
    out = func(*ins)
    g = grad(out, ins, v, create_graph=create_graph, allow_unused=True, materialize_grads=True)
    return out.detach(), (g[0] if single else g)


def jacobian(func, inputs, create_graph=False, strict=False, vectorize=False, strategy="reverse-mode"):
    """Full Jacobian, one backward pass per output element."""
    import ember
    from . import grad
    single = not isinstance(inputs, (tuple, list))
    ins = (inputs,) if single else tuple(inputs)
    ins = tuple(i.detach().requires_grad_(True) for i in ins)
    out = func(*ins)
    flat = out.reshape(-1)
    rows = [[] for _ in ins]
    for k in range(flat.numel()):
        gs = grad(flat[k], ins, retain_graph=True, create_graph=create_graph, allow_unused=True,
                  materialize_grads=True)
        for j, g in enumerate(gs):
            rows[j].append(g)
    jac = tuple(ember.stack(r).reshape(tuple(out.shape) + tuple(i.shape)) if r else
                ember.zeros(tuple(out.shape) + tuple(i.shape)) for r, i in zip(rows, ins))
    return jac[0] if single else jac


def hessian(func, inputs, create_graph=False, strict=False, vectorize=False):
    single = not isinstance(inputs, (tuple, list))
    if not single:
        raise NotImplementedError("ember.autograd.functional.hessian takes a single input tensor")
    from . import grad

    def jac_fn(x):
        y = func(x)
        return grad(y, x, create_graph=True)[0]
    return jacobian(jac_fn, inputs, create_graph=create_graph)
