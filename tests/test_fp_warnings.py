"""torch computes inf/NaN silently; ember's NumPy floating-point warnings are filtered for
ember's own modules only (not globally: the user's NumPy code still warns)."""
import subprocess
import sys

CODE = r"""
import warnings
import numpy as np
import ember
F = ember.nn.functional
x = ember.tensor([0.0, 1.0, -1.0, float("inf"), -float("inf"), float("nan")])
ember.log(x); x / 0; ember.sqrt(x); ember.exp(x * 1e30); x * float("inf")
x.sum(); x.mean(); x.var(); ember.softmax(x, 0); ember.logsumexp(x, 0)
F.cross_entropy(ember.tensor([[float("inf"), 0.0]]), ember.tensor([0]))
F.mse_loss(x, x)
a = ember.tensor([float("inf"), 1.0], requires_grad=True)
(a / ember.tensor([0.0, 0.0])).sum().backward()
try:
    np.log(np.array([0.0]))       # the user's own NumPy call still warns
except RuntimeWarning:
    print("user warning kept")
"""


def test_ember_ops_silent_user_numpy_not():
    r = subprocess.run([sys.executable, "-W", "error::RuntimeWarning", "-c", CODE],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "user warning kept"
