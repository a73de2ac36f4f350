import numpy as np
from helpers import check, rand


def test_add_broadcast_grad():
    check(lambda M, a, b: a + b, rand(3, 4), rand(4))


def test_mul_float32():
    check(lambda M, a, b: a * b, rand(2, 3, dtype=np.float32), rand(2, 1, dtype=np.float32))


def test_matmul():
    check(lambda M, a, b: a @ b, rand(5, 3), rand(3, 2), noncontig=True)
