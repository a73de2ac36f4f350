"""``ember.vision``: a small torchvision-compatible subset: ``datasets`` (MNIST,
FashionMNIST, FakeData, and ``EmbeddedMNIST``, 5,000 digits shipped with ember) and
``transforms``.

>>> from ember.vision import datasets, transforms
>>> train = datasets.EmbeddedMNIST(train=True, transform=transforms.ToTensor())
"""
from . import datasets, transforms

__all__ = ["datasets", "transforms"]
