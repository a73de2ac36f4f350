"""Runnable examples: ``python -m ember.examples.NAME``.

- ``mnist``: the main job — trains a CNN on the embedded MNIST digits (or IDX files).
- ``quadratic``: seed 000, fitting y = ax^2 + bx + c with nn.Module, MSELoss and SGD.
- ``temperature``: seed 001, the temperature model by hand, with SGD and with Adam.
- ``linear_regression``: seeds 002/003, nn.Linear on y = 2x + 1.
- ``nn_from_scratch``: seed 004, MNIST from raw tensors to nn.Sequential.
"""
