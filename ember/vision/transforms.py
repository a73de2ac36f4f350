"""Image transforms with torchvision's interface: ``Compose``, ``ToTensor``, ``Normalize``,
``Lambda``, ``Pad``, ``RandomCrop``, ``RandomHorizontalFlip``, ``RandomAffine`` and
``RandomRotation``, plus the functions they are built on (``to_tensor``, ``normalize``,
``pad``, ``crop``, ``hflip``, ``affine``, ``rotate``).

Image conventions, as in torchvision:

* a NumPy array is an image as it comes from a dataset (what ``np.asarray`` of a PIL image
  gives): ``(H, W)`` or ``(H, W, C)``, usually ``uint8``;
* an ember ``Tensor`` is ``(..., H, W)``, usually ``(C, H, W)`` float after ``ToTensor``;
* a PIL image (only if Pillow is installed) is accepted and returned as a PIL image.

Random transforms draw from ember's global generator (``ember.manual_seed``; each DataLoader
worker has its own seed), so they are reproducible, though not the same draws as torchvision.
Geometric transforms are vectorized NumPy resampling (nearest or bilinear); ``RandomAffine``
follows torchvision's parameterisation (its angle turns clockwise, ``rotate``'s
counter-clockwise) and its rotation centre (the image centre).
"""
from __future__ import annotations

import math
import numbers
from enum import Enum
from typing import Any, Callable, Sequence

import numpy as np

from .._tensor import Tensor

__all__ = ["Compose", "ToTensor", "Normalize", "Lambda", "Pad", "RandomCrop",
           "RandomHorizontalFlip", "RandomAffine", "RandomRotation", "InterpolationMode",
           "to_tensor", "normalize", "pad", "crop", "hflip", "affine", "rotate"]


class InterpolationMode(Enum):
    NEAREST = "nearest"
    BILINEAR = "bilinear"


# ---- image kinds: everything geometric works on a (..., H, W) array -------------------------
def _is_pil(img) -> bool:
    return type(img).__module__.startswith("PIL.")


def _unpack(img) -> "tuple[np.ndarray, Callable[[np.ndarray], Any]]":
    """``(array with the spatial axes last, function turning such an array back into the
    input's kind)``."""
    if isinstance(img, Tensor):
        return img._data, Tensor._wrap
    if _is_pil(img):
        from PIL import Image
        mode = img.mode
        arr = np.asarray(img)
        back = (lambda a: Image.fromarray(np.moveaxis(a, 0, -1) if a.ndim == 3 else a, mode))
        return (np.moveaxis(arr, -1, 0) if arr.ndim == 3 else arr), back
    if isinstance(img, np.ndarray):
        if img.ndim not in (2, 3):
            raise ValueError(f"a NumPy image should be (H, W) or (H, W, C); got shape "
                             f"{img.shape}")
        if img.ndim == 2:
            return img, lambda a: a
        return np.moveaxis(img, -1, 0), lambda a: np.ascontiguousarray(np.moveaxis(a, 0, -1))
    raise TypeError(f"img should be an ember Tensor, a NumPy array or a PIL Image. Got "
                    f"{type(img)}")


def _size(arr: np.ndarray) -> "tuple[int, int]":
    if arr.ndim < 2:
        raise ValueError(f"an image needs at least 2 dimensions (H, W); got shape {arr.shape}")
    return arr.shape[-2], arr.shape[-1]


def _fill_array(fill, arr: np.ndarray) -> np.ndarray:
    """``fill`` (a number, or one value per channel) shaped to broadcast against ``arr``."""
    f = np.asarray(0 if fill is None else fill, dtype=np.float64)
    if f.ndim == 0 or f.size == 1:
        return f.reshape(())
    if arr.ndim < 3 or arr.shape[-3] != f.size:
        raise ValueError(f"fill has {f.size} values but the image has "
                         f"{arr.shape[-3] if arr.ndim >= 3 else 1} channel(s)")
    return f.reshape(-1, 1, 1)


def _cast_like(out: np.ndarray, ref: np.ndarray) -> np.ndarray:
    if ref.dtype.kind in "iub" and out.dtype != ref.dtype:
        if ref.dtype.kind == "b":
            return out >= 0.5
        info = np.iinfo(ref.dtype)
        return np.clip(np.rint(out), info.min, info.max).astype(ref.dtype)
    return out.astype(ref.dtype, copy=False)


# ---- functions --------------------------------------------------------------------------------
def to_tensor(pic) -> Tensor:
    """A NumPy image ``(H, W[, C])`` or PIL image as a ``(C, H, W)`` tensor; ``uint8`` input is
    scaled to float in [0, 1] (default float dtype), other dtypes keep values and dtype."""
    if _is_pil(pic):
        arr = np.asarray(pic)
        if arr.dtype == np.bool_:
            arr = arr.astype(np.uint8) * 255
    elif isinstance(pic, np.ndarray):
        arr = pic
    else:
        raise TypeError(f"pic should be PIL Image or ndarray. Got {type(pic)}")
    if arr.ndim not in (2, 3):
        raise ValueError(f"pic should be 2/3 dimensional. Got {arr.ndim} dimensions.")
    if arr.ndim == 2:
        arr = arr[:, :, None]
    chw = np.ascontiguousarray(arr.transpose(2, 0, 1))
    if chw.dtype == np.uint8:
        from .._backend import default_float_np
        npd = default_float_np()
        return Tensor._wrap(chw.astype(npd) / npd.type(255))
    return Tensor._wrap(chw)


def normalize(tensor, mean: Sequence[float], std: Sequence[float], inplace: bool = False):
    """``(x - mean) / std`` per channel. A tensor is ``(..., C, H, W)`` and must be floating
    point; a NumPy array is an ``(H, W, C)`` (or ``(H, W)``) float image."""
    if isinstance(tensor, np.ndarray):
        if tensor.dtype.kind != "f":
            raise TypeError(f"Input array should be a float array. Got {tensor.dtype}.")
        m = np.asarray(mean, dtype=tensor.dtype)
        s = np.asarray(std, dtype=tensor.dtype)
        if (s == 0).any():
            raise ValueError(f"std evaluated to zero after conversion to {tensor.dtype}, "
                             "leading to division by zero.")
        out = tensor if inplace else tensor.copy()
        out -= m
        out /= s
        return out
    if not isinstance(tensor, Tensor):
        raise TypeError(f"img should be Tensor Image. Got {type(tensor)}")
    if not tensor.is_floating_point():
        raise TypeError(f"Input tensor should be a float tensor. Got {tensor.dtype}.")
    if tensor.ndim < 3:
        raise ValueError("Expected tensor to be a tensor image of size (..., C, H, W). Got "
                         f"tensor.size() = {tensor.size()}")
    from .._ops.creation import as_tensor
    m = as_tensor(mean, dtype=tensor.dtype)
    s = as_tensor(std, dtype=tensor.dtype)
    if bool((s == 0).any()):
        raise ValueError(f"std evaluated to zero after conversion to {tensor.dtype}, leading "
                         "to division by zero.")
    if m.ndim == 1:
        m = m.view(-1, 1, 1)
    if s.ndim == 1:
        s = s.view(-1, 1, 1)
    if not inplace:
        tensor = tensor.clone()
    return tensor.sub_(m).div_(s)


def _padding_ltrb(padding) -> "tuple[int, int, int, int]":
    if isinstance(padding, numbers.Number):
        p = int(padding)
        return p, p, p, p
    padding = [int(p) for p in padding]
    if len(padding) == 1:
        return (padding[0],) * 4
    if len(padding) == 2:
        return padding[0], padding[1], padding[0], padding[1]
    if len(padding) == 4:
        return tuple(padding)
    raise ValueError("Padding must be an int or a 1, 2, or 4 element tuple, not a "
                     f"{len(padding)} element tuple")


_PAD_MODES = ("constant", "edge", "reflect", "symmetric")


def _pad_array(a: np.ndarray, ltrb, fill, mode: str) -> np.ndarray:
    left, top, right, bottom = ltrb
    if min(ltrb) < 0:
        raise NotImplementedError("negative padding (cropping) is not supported; use crop()")
    widths = [(0, 0)] * (a.ndim - 2) + [(top, bottom), (left, right)]
    if mode != "constant":
        return np.pad(a, widths, mode=mode)
    f = _fill_array(fill, a)
    if f.ndim == 0:
        return np.pad(a, widths, mode="constant", constant_values=f.item())
    out = np.empty(a.shape[:-2] + (a.shape[-2] + top + bottom, a.shape[-1] + left + right),
                   dtype=a.dtype)
    out[...] = _cast_like(np.broadcast_to(f, out.shape), a)
    out[..., top:top + a.shape[-2], left:left + a.shape[-1]] = a
    return out


def pad(img, padding, fill=0, padding_mode: str = "constant"):
    """Pad the borders: ``padding`` is an int (all sides), ``(left/right, top/bottom)`` or
    ``(left, top, right, bottom)``; ``padding_mode`` is constant (with ``fill``), edge,
    reflect or symmetric."""
    if padding_mode not in _PAD_MODES:
        raise ValueError("Padding mode should be either constant, edge, reflect or symmetric")
    a, back = _unpack(img)
    return back(_pad_array(a, _padding_ltrb(padding), fill, padding_mode))


def crop(img, top: int, left: int, height: int, width: int):
    """The ``height x width`` region whose top-left corner is ``(top, left)``; parts outside
    the image are zero, as in torchvision."""
    a, back = _unpack(img)
    h, w = _size(a)
    pads = (max(0, -left), max(0, -top), max(0, left + width - w), max(0, top + height - h))
    if any(pads):
        a = _pad_array(a, pads, 0, "constant")
        top, left = top + pads[1], left + pads[0]
    return back(np.ascontiguousarray(a[..., top:top + height, left:left + width]))


def hflip(img):
    """Mirror left to right."""
    a, back = _unpack(img)
    return back(np.ascontiguousarray(a[..., ::-1]))


def _interp(mode) -> InterpolationMode:
    if isinstance(mode, InterpolationMode):
        return mode
    try:
        return InterpolationMode(str(mode).lower())
    except ValueError:
        raise ValueError(f"interpolation must be 'nearest' or 'bilinear' (InterpolationMode); "
                         f"got {mode!r}") from None


def _inverse_affine(center, angle, translate, scale, shear) -> "tuple[np.ndarray, np.ndarray]":
    """``(A, b)`` with ``source = A @ target + b`` for the map target = c + t + M (source - c),
    ``M = scale * R(angle) * ShearY(sy) * ShearX(sx)`` in (x right, y down) pixel coordinates:
    torchvision's definition, angles in degrees, clockwise."""
    a = math.radians(angle)
    sx, sy = (math.radians(s) for s in shear)
    rot = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
    shear_y = np.array([[1.0, 0.0], [-math.tan(sy), 1.0]])
    shear_x = np.array([[1.0, -math.tan(sx)], [0.0, 1.0]])
    m = scale * rot @ shear_y @ shear_x
    inv = np.linalg.inv(m)
    c = np.asarray(center, dtype=np.float64)
    t = np.asarray(translate, dtype=np.float64)
    return inv, c - inv @ (c + t)


def _gather(a: np.ndarray, iy: np.ndarray, ix: np.ndarray, fill: np.ndarray) -> np.ndarray:
    """``a[..., iy, ix]`` with ``fill`` where the source pixel lies outside the image."""
    h, w = a.shape[-2:]
    inside = (iy >= 0) & (iy < h) & (ix >= 0) & (ix < w)
    vals = a[..., np.clip(iy, 0, h - 1), np.clip(ix, 0, w - 1)]
    return np.where(inside, vals, fill)


def _warp(a: np.ndarray, inv: np.ndarray, off: np.ndarray, mode: InterpolationMode,
          fill) -> np.ndarray:
    h, w = _size(a)
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float64)
    src_x = inv[0, 0] * xs + inv[0, 1] * ys + off[0]
    src_y = inv[1, 0] * xs + inv[1, 1] * ys + off[1]
    f = _fill_array(fill, a)
    if mode is InterpolationMode.NEAREST:
        out = _gather(a, np.floor(src_y + 0.5).astype(np.int64),
                      np.floor(src_x + 0.5).astype(np.int64), f)
        return _cast_like(out, a)
    x0, y0 = np.floor(src_x), np.floor(src_y)
    wx, wy = src_x - x0, src_y - y0
    x0, y0 = x0.astype(np.int64), y0.astype(np.int64)
    work = a.astype(np.float64) if a.dtype.kind != "f" else a
    out = (_gather(work, y0, x0, f) * ((1 - wy) * (1 - wx))
           + _gather(work, y0, x0 + 1, f) * ((1 - wy) * wx)
           + _gather(work, y0 + 1, x0, f) * (wy * (1 - wx))
           + _gather(work, y0 + 1, x0 + 1, f) * (wy * wx))
    return _cast_like(out, a)


def _center_of(a: np.ndarray, center) -> "tuple[float, float]":
    h, w = _size(a)
    if center is None:
        return (w - 1) * 0.5, (h - 1) * 0.5
    # torchvision's centre is in continuous coordinates (pixel i spans [i, i + 1)).
    return float(center[0]) - 0.5, float(center[1]) - 0.5


def affine(img, angle: float, translate: Sequence[float], scale: float, shear,
           interpolation="nearest", fill=0, center=None):
    """Rotate by ``angle`` degrees (clockwise, as torchvision's ``affine``), scale, shear
    (degrees; a number shears along x, a pair ``(sx, sy)`` along both) and translate by
    ``(tx, ty)`` pixels, about ``center`` (default: the image centre). Pixels that come from
    outside the image get ``fill``."""
    if scale <= 0:
        raise ValueError("Argument scale should be positive")
    if isinstance(shear, numbers.Number):
        shear = (float(shear), 0.0)
    shear = tuple(float(s) for s in shear)
    if len(shear) == 1:
        shear = (shear[0], 0.0)
    if len(shear) != 2:
        raise ValueError(f"Shear should be a sequence containing two values. Got {shear}")
    a, back = _unpack(img)
    inv, off = _inverse_affine(_center_of(a, center), angle, translate, scale, shear)
    return back(_warp(a, inv, off, _interp(interpolation), fill))


def rotate(img, angle: float, interpolation="nearest", expand: bool = False, center=None,
           fill=0):
    """Rotate by ``angle`` degrees counter-clockwise about ``center`` (default: the image
    centre), keeping the image size. ``expand=True`` is not supported."""
    if expand:
        raise NotImplementedError("rotate(expand=True) is not supported: the output keeps the "
                                  "input size")
    return affine(img, -angle, (0.0, 0.0), 1.0, (0.0, 0.0), interpolation, fill, center)


# ---- random parameters --------------------------------------------------------------------
def _uniform(lo: float, hi: float) -> float:
    from .._ops.random import rand
    return float(lo + (hi - lo) * rand(1).item())


def _randint(lo: int, hi: int) -> int:
    """An int in [lo, hi)."""
    from .._ops.random import randint
    return int(randint(lo, hi, (1,)).item())


def _symmetric_range(value, name: str, req_sizes=(2,)) -> list:
    if isinstance(value, numbers.Number):
        if value < 0:
            raise ValueError(f"If {name} is a single number, it must be positive.")
        return [-float(value), float(value)]
    value = [float(v) for v in value]
    if len(value) not in req_sizes:
        sizes = " or ".join(map(str, req_sizes))
        raise ValueError(f"If {name} is a sequence, it must be of len {sizes}.")
    return value


def _size_pair(size, name: str = "size") -> "tuple[int, int]":
    if isinstance(size, numbers.Number):
        return int(size), int(size)
    size = tuple(int(s) for s in size)
    if len(size) == 1:
        return size[0], size[0]
    if len(size) != 2:
        raise ValueError(f"Please provide only two dimensions (h, w) for {name}.")
    return size


# ---- transform classes --------------------------------------------------------------------
class Compose:
    """Apply ``transforms`` in order."""

    def __init__(self, transforms: Sequence[Callable]) -> None:
        self.transforms = transforms

    def __call__(self, img):
        for t in self.transforms:
            img = t(img)
        return img

    def __repr__(self) -> str:
        body = "".join(f"\n    {t}" for t in self.transforms)
        return f"{type(self).__name__}({body}\n)"


class ToTensor:
    """NumPy/PIL image (H, W[, C]) -> (C, H, W) tensor; ``uint8`` scaled to [0, 1]."""

    def __call__(self, pic) -> Tensor:
        return to_tensor(pic)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class Normalize:
    """Per-channel ``(x - mean) / std`` (see ``normalize``)."""

    def __init__(self, mean: Sequence[float], std: Sequence[float], inplace: bool = False):
        self.mean = mean
        self.std = std
        self.inplace = inplace

    def __call__(self, tensor):
        return normalize(tensor, self.mean, self.std, self.inplace)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(mean={self.mean}, std={self.std})"


class Lambda:
    """Apply a user function."""

    def __init__(self, lambd: Callable) -> None:
        if not callable(lambd):
            raise TypeError(f"Argument lambd should be callable, got {type(lambd).__name__!r}")
        self.lambd = lambd

    def __call__(self, img):
        return self.lambd(img)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class Pad:
    """Pad the borders (see ``pad``)."""

    def __init__(self, padding, fill=0, padding_mode: str = "constant") -> None:
        _padding_ltrb(padding)
        if padding_mode not in _PAD_MODES:
            raise ValueError("Padding mode should be either constant, edge, reflect or symmetric")
        self.padding, self.fill, self.padding_mode = padding, fill, padding_mode

    def __call__(self, img):
        return pad(img, self.padding, self.fill, self.padding_mode)

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(padding={self.padding}, fill={self.fill}, "
                f"padding_mode={self.padding_mode})")


class RandomCrop:
    """Crop a random ``size`` region, after optional ``padding`` (and padding up to ``size``
    when ``pad_if_needed``)."""

    def __init__(self, size, padding=None, pad_if_needed: bool = False, fill=0,
                 padding_mode: str = "constant") -> None:
        self.size = _size_pair(size)
        if padding is not None:
            _padding_ltrb(padding)
        if padding_mode not in _PAD_MODES:
            raise ValueError("Padding mode should be either constant, edge, reflect or symmetric")
        self.padding, self.pad_if_needed = padding, pad_if_needed
        self.fill, self.padding_mode = fill, padding_mode

    @staticmethod
    def get_params(img, output_size) -> "tuple[int, int, int, int]":
        """``(top, left, height, width)`` of a random crop of ``output_size``."""
        a, _ = _unpack(img)
        h, w = _size(a)
        th, tw = output_size
        if h < th or w < tw:
            raise ValueError(f"Required crop size {(th, tw)} is larger than input image size "
                             f"{(h, w)}")
        if h == th and w == tw:
            return 0, 0, h, w
        return _randint(0, h - th + 1), _randint(0, w - tw + 1), th, tw

    def __call__(self, img):
        if self.padding is not None:
            img = pad(img, self.padding, self.fill, self.padding_mode)
        h, w = _size(_unpack(img)[0])
        th, tw = self.size
        if self.pad_if_needed and w < tw:
            img = pad(img, [tw - w, 0], self.fill, self.padding_mode)
        if self.pad_if_needed and h < th:
            img = pad(img, [0, th - h], self.fill, self.padding_mode)
        i, j, th, tw = self.get_params(img, self.size)
        return crop(img, i, j, th, tw)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(size={self.size}, padding={self.padding})"


class RandomHorizontalFlip:
    """Mirror left to right with probability ``p``."""

    def __init__(self, p: float = 0.5) -> None:
        self.p = p

    def __call__(self, img):
        from .._ops.random import rand
        return hflip(img) if rand(1).item() < self.p else img

    def __repr__(self) -> str:
        return f"{type(self).__name__}(p={self.p})"


class RandomAffine:
    """Random rotation (``degrees``), translation (``translate``: max fraction of width and
    height), scaling (``scale``: range) and shear (``shear``: degrees; a number or a pair for
    x only, four values for x and y), as torchvision samples them."""

    def __init__(self, degrees, translate=None, scale=None, shear=None,
                 interpolation=InterpolationMode.NEAREST, fill=0, center=None) -> None:
        self.degrees = _symmetric_range(degrees, "degrees")
        if translate is not None:
            if len(translate) != 2:
                raise ValueError("translate should be a sequence of length 2.")
            if any(not 0.0 <= t <= 1.0 for t in translate):
                raise ValueError("translation values should be between 0 and 1")
        if scale is not None:
            if len(scale) != 2:
                raise ValueError("scale should be a sequence of length 2.")
            if any(s <= 0 for s in scale):
                raise ValueError("scale values should be positive")
        self.translate, self.scale = translate, scale
        self.shear = _symmetric_range(shear, "shear", (2, 4)) if shear is not None else None
        self.interpolation = _interp(interpolation)
        self.fill, self.center = fill, center

    @staticmethod
    def get_params(degrees, translate, scale_ranges, shears, img_size) -> tuple:
        """``(angle, (tx, ty), scale, (shear_x, shear_y))``; ``img_size`` is (width, height)."""
        angle = _uniform(degrees[0], degrees[1])
        if translate is not None:
            max_dx, max_dy = translate[0] * img_size[0], translate[1] * img_size[1]
            tx, ty = int(round(_uniform(-max_dx, max_dx))), int(round(_uniform(-max_dy, max_dy)))
        else:
            tx, ty = 0, 0
        s = _uniform(scale_ranges[0], scale_ranges[1]) if scale_ranges is not None else 1.0
        sx = sy = 0.0
        if shears is not None:
            sx = _uniform(shears[0], shears[1])
            if len(shears) == 4:
                sy = _uniform(shears[2], shears[3])
        return angle, (tx, ty), s, (sx, sy)

    def __call__(self, img):
        h, w = _size(_unpack(img)[0])
        angle, t, s, sh = self.get_params(self.degrees, self.translate, self.scale, self.shear,
                                          (w, h))
        return affine(img, angle, t, s, sh, self.interpolation, self.fill, self.center)

    def __repr__(self) -> str:
        s = f"{type(self).__name__}(degrees={self.degrees}"
        for name in ("translate", "scale", "shear", "center"):
            if getattr(self, name) is not None:
                s += f", {name}={getattr(self, name)}"
        if self.interpolation is not InterpolationMode.NEAREST:
            s += f", interpolation={self.interpolation.value}"
        if self.fill != 0:
            s += f", fill={self.fill}"
        return s + ")"


class RandomRotation:
    """Rotate by a random angle in ``degrees`` (counter-clockwise for positive angles)."""

    def __init__(self, degrees, interpolation=InterpolationMode.NEAREST, expand: bool = False,
                 center=None, fill=0) -> None:
        self.degrees = _symmetric_range(degrees, "degrees")
        self.interpolation = _interp(interpolation)
        if expand:
            raise NotImplementedError("RandomRotation(expand=True) is not supported")
        self.expand, self.center, self.fill = expand, center, fill

    def __call__(self, img):
        angle = _uniform(self.degrees[0], self.degrees[1])
        return rotate(img, angle, self.interpolation, False, self.center, self.fill)

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(degrees={self.degrees}, "
                f"interpolation={self.interpolation.value}, expand={self.expand}, "
                f"fill={self.fill})")
