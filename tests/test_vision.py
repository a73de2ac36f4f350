"""ember.vision: IDX reading, MNIST/FashionMNIST folder layouts and download errors, the embedded
digits and their documented split, FakeData, and transforms against hand-computed results."""
from __future__ import annotations

import contextlib
import functools
import gzip
import http.server
import os
import struct
import threading

import numpy as np
import pytest

import ember
from ember.utils.data import DataLoader
from ember.vision import datasets, transforms as T

FASHION = os.path.join(os.path.dirname(__file__), "data", "fashion-mnist-sample")


# ---- IDX files -----------------------------------------------------------------------------
def idx_bytes(arr: np.ndarray, code: int = 0x08) -> bytes:
    """IDX by hand: 0, 0, type code, ndim, big-endian uint32 dims, big-endian payload."""
    big = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}[code]
    head = bytes([0, 0, code, arr.ndim]) + struct.pack(f">{arr.ndim}I", *arr.shape)
    return head + arr.astype(big).tobytes()


def write(path, data: bytes, gz: bool):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    if gz:
        with gzip.open(str(path) + ".gz", "wb") as f:
            f.write(data)
    else:
        with open(path, "wb") as f:
            f.write(data)


def fake_split(n, seed):
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
    return images, rng.integers(0, 10, n).astype(np.uint8)


def write_mnist(folder, gz=True):
    splits = {"train": fake_split(7, 0), "t10k": fake_split(3, 1)}
    for prefix, (x, y) in splits.items():
        write(os.path.join(folder, f"{prefix}-images-idx3-ubyte"), idx_bytes(x), gz)
        write(os.path.join(folder, f"{prefix}-labels-idx1-ubyte"), idx_bytes(y), gz)
    return splits


@pytest.mark.parametrize("code,dtype", [(0x08, np.uint8), (0x09, np.int8), (0x0B, np.int16),
                                        (0x0C, np.int32), (0x0D, np.float32), (0x0E, np.float64)])
@pytest.mark.parametrize("gz", [False, True])
def test_read_idx_round_trip(tmp_path, code, dtype, gz):
    arr = (np.arange(24).reshape(2, 3, 4) - 5).astype(dtype)
    if dtype == np.uint8:
        arr = np.arange(24, dtype=np.uint8).reshape(2, 3, 4) * 10
    write(tmp_path / "a", idx_bytes(arr, code), gz)
    got = datasets.read_idx(str(tmp_path / "a") + (".gz" if gz else ""))
    assert got.dtype == np.dtype(dtype) and got.dtype.isnative
    np.testing.assert_array_equal(got, arr)


def test_read_idx_rejects_bad_files(tmp_path):
    (tmp_path / "bad").write_bytes(b"\x1f\x8b\x08\x00garbage")
    with pytest.raises(RuntimeError, match="not an IDX file"):
        datasets.read_idx(tmp_path / "bad")
    short = idx_bytes(np.zeros((2, 2, 2), np.uint8))[:-1]
    (tmp_path / "short").write_bytes(short)
    with pytest.raises(RuntimeError, match=r"shape \(2, 2, 2\)"):
        datasets.read_idx(tmp_path / "short")


@pytest.mark.parametrize("gz", [True, False])
def test_mnist_torchvision_layout(tmp_path, gz):
    splits = write_mnist(tmp_path / "MNIST" / "raw", gz)
    for train, key in ((True, "train"), (False, "t10k")):
        ds = datasets.MNIST(tmp_path, train=train)
        x, y = splits[key]
        assert len(ds) == len(x)
        assert ds.data.dtype == ember.uint8 and tuple(ds.data.shape) == x.shape
        assert ds.targets.dtype == ember.int64
        np.testing.assert_array_equal(ds.data.numpy(), x)
        np.testing.assert_array_equal(ds.targets.numpy(), y)
        img, target = ds[1]
        assert isinstance(img, np.ndarray) and img.dtype == np.uint8 and img.shape == (28, 28)
        assert type(target) is int and target == y[1]
        np.testing.assert_array_equal(img, x[1])
    ds = datasets.MNIST(str(tmp_path), transform=T.ToTensor(), target_transform=lambda t: t + 100)
    img, target = ds[0]
    assert tuple(img.shape) == (1, 28, 28) and img.dtype == ember.float32
    np.testing.assert_allclose(img.numpy()[0], splits["train"][0][0] / np.float32(255), rtol=1e-6)
    assert target == splits["train"][1][0] + 100
    assert ds.class_to_idx["3 - three"] == 3
    assert repr(ds).splitlines()[:4] == ["Dataset MNIST", "    Number of datapoints: 7",
                                         f"    Root location: {tmp_path}", "    Split: Train"]


def test_fashion_mnist_flat_folder_and_own_layout(tmp_path):
    splits = write_mnist(tmp_path / "flat", gz=True)
    ds = datasets.FashionMNIST(tmp_path / "flat", train=False)
    np.testing.assert_array_equal(ds.data.numpy(), splits["t10k"][0])
    assert ds.classes[9] == "Ankle boot"
    write_mnist(tmp_path / "FashionMNIST" / "raw", gz=False)
    assert len(datasets.FashionMNIST(tmp_path)) == 7
    with pytest.raises(RuntimeError, match="not found"):
        datasets.MNIST(tmp_path)  # FashionMNIST files are not MNIST's


def test_missing_files_and_offline_download_fail_clearly(tmp_path, monkeypatch):
    with pytest.raises(RuntimeError) as info:
        datasets.MNIST(tmp_path / "none")
    msg = str(info.value)
    assert "train-images-idx3-ubyte.gz" in msg and "download=True" in msg
    assert os.path.join(str(tmp_path / "none"), "MNIST", "raw") in msg
    monkeypatch.setattr(datasets.MNIST, "mirrors", ["http://127.0.0.1:9/"])
    with pytest.raises(RuntimeError) as info:
        datasets.MNIST(tmp_path / "none", download=True)
    msg = str(info.value)
    assert "Download failed" in msg and "http://127.0.0.1:9/train-images-idx3-ubyte.gz" in msg
    assert "put them" in msg and os.listdir(tmp_path / "none" / "MNIST" / "raw") == []


@contextlib.contextmanager
def serve(folder):
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    handler.log_message = lambda *a, **k: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def test_download_from_a_mirror(tmp_path, monkeypatch):
    splits = write_mnist(tmp_path / "mirror", gz=True)
    with serve(tmp_path / "mirror") as url:
        monkeypatch.setattr(datasets.MNIST, "mirrors", ["http://127.0.0.1:9/", url])
        ds = datasets.MNIST(tmp_path / "root", train=False, download=True)
    np.testing.assert_array_equal(ds.targets.numpy(), splits["t10k"][1])
    assert sorted(os.listdir(tmp_path / "root" / "MNIST" / "raw")) == sorted(
        os.listdir(tmp_path / "mirror"))


def test_fashion_mnist_real_files():
    """Real Fashion-MNIST IDX files (the first 300 images of each split, cut from the official
    gzip'd files and kept in tests/data; MIT licence, Zalando SE): shapes, dtypes, labels and
    pixel totals as read from the originals."""
    test = datasets.FashionMNIST(FASHION, train=False)
    assert len(test) == 300 and tuple(test.data.shape) == (300, 28, 28)
    assert np.bincount(test.targets.numpy()).tolist() == [32, 35, 39, 24, 30, 27, 28, 29, 29, 27]
    assert test.targets.numpy()[:10].tolist() == [9, 2, 1, 1, 6, 1, 4, 6, 5, 7]
    assert int(test.data.numpy().astype(np.int64).sum()) == 17441706
    img, label = test[0]
    assert img.shape == (28, 28) and img.dtype == np.uint8 and label == 9
    train = datasets.FashionMNIST(FASHION, train=True)
    assert len(train) == 300 and train.targets.numpy()[:10].tolist() == [9, 0, 0, 3, 0, 2, 7,
                                                                          2, 5, 5]
    assert int(train.data.numpy().astype(np.int64).sum()) == 17481620


# ---- the embedded digits -------------------------------------------------------------------
def test_embedded_mnist_split_is_the_documented_one():
    raw = np.load(os.path.join(os.path.dirname(datasets.__file__), "mnist5k.npz"))
    labels = raw["labels"].astype(np.int64)
    assert len(labels) == 5000 and np.bincount(labels).tolist() == [500] * 10
    # the documented rule, recomputed here
    order = np.random.default_rng(0).permutation(5000)
    seen = np.zeros(10, int)
    want_test, want_train = [], []
    for i in order:
        (want_test if seen[labels[i]] < 100 else want_train).append(i)
        seen[labels[i]] += 1
    train_idx, test_idx = datasets.embedded_mnist_split()
    assert train_idx.tolist() == want_train and test_idx.tolist() == want_test
    train, test = datasets.EmbeddedMNIST(train=True), datasets.EmbeddedMNIST(train=False)
    assert len(train) == 4000 and len(test) == 1000
    assert np.bincount(train.targets.numpy()).tolist() == [400] * 10
    assert np.bincount(test.targets.numpy()).tolist() == [100] * 10
    assert not set(train_idx.tolist()) & set(test_idx.tolist())
    np.testing.assert_array_equal(test.data.numpy(), raw["images"][test_idx])
    assert (np.diff(train.targets.numpy()) != 0).sum() > 3000  # shuffled, not class-sorted


def test_load_embedded_mnist_helper():
    x, y = datasets.load_embedded_mnist(train=False)
    assert x.dtype == ember.uint8 and tuple(x.shape) == (1000, 28, 28) and y.dtype == ember.int64
    xf, yf = datasets.load_embedded_mnist(train=True, flatten=True, dtype=ember.float32)
    assert xf.dtype == ember.float32 and tuple(xf.shape) == (4000, 784)
    assert 0.0 == float(xf.min()) and float(xf.max()) == 1.0
    np.testing.assert_allclose(xf.numpy()[5], datasets.EmbeddedMNIST().data.numpy()[5].ravel()
                               / np.float32(255))
    with pytest.raises(TypeError):
        datasets.load_embedded_mnist(dtype=ember.int64)


def test_embedded_mnist_through_dataloader():
    ds = datasets.EmbeddedMNIST(train=False, transform=T.Compose([
        T.ToTensor(), T.Normalize((0.1307,), (0.3081,))]))
    xb, yb = next(iter(DataLoader(ds, batch_size=100)))
    assert tuple(xb.shape) == (100, 1, 28, 28) and xb.dtype == ember.float32
    assert yb.dtype == ember.int64 and tuple(yb.shape) == (100,)
    assert abs(float(xb.mean())) < 0.5
    assert "Dataset EmbeddedMNIST" in repr(ds) and "Normalize(mean=(0.1307,)" in repr(ds)


def test_fake_data():
    ds = datasets.FakeData(size=5, image_size=(3, 4, 6), num_classes=3)
    img, label = ds[2]
    assert img.shape == (4, 6, 3) and img.dtype == np.uint8 and 0 <= label < 3
    again, label2 = ds[2]
    np.testing.assert_array_equal(img, again)
    assert label == label2 and len(ds) == 5
    gray = datasets.FakeData(size=2, image_size=(1, 5, 5), transform=T.ToTensor())[0][0]
    assert tuple(gray.shape) == (1, 5, 5)
    with pytest.raises(IndexError):
        ds[5]


# ---- transforms ----------------------------------------------------------------------------
def test_to_tensor():
    hwc = np.arange(24, dtype=np.uint8).reshape(2, 4, 3) * 10
    t = T.ToTensor()(hwc)
    assert t.dtype == ember.float32 and tuple(t.shape) == (3, 2, 4)
    np.testing.assert_allclose(t.numpy(), hwc.transpose(2, 0, 1) / np.float32(255), rtol=1e-6)
    hw = T.to_tensor(np.array([[0, 255]], np.uint8))
    assert tuple(hw.shape) == (1, 1, 2) and hw.tolist() == [[[0.0, 1.0]]]
    f = T.to_tensor(np.full((2, 2), 3.5))
    assert f.dtype == ember.float64 and f.tolist() == [[[3.5, 3.5], [3.5, 3.5]]]
    with pytest.raises(TypeError, match="pic should be PIL Image or ndarray"):
        T.to_tensor(ember.zeros(2, 2))
    with pytest.raises(ValueError, match="2/3 dimensional"):
        T.to_tensor(np.zeros(3, np.uint8))


def test_normalize():
    x = ember.from_numpy(np.arange(8, dtype=np.float32).reshape(2, 2, 2))
    out = T.Normalize((1.0, 2.0), (2.0, 4.0))(x)
    want = (np.arange(8, dtype=np.float32).reshape(2, 2, 2) - [[[1.0]], [[2.0]]]) \
        / [[[2.0]], [[4.0]]]
    assert out.dtype == ember.float32
    np.testing.assert_allclose(out.numpy(), want, rtol=1e-6)
    assert x.tolist()[0][0] == [0.0, 1.0]  # not in place by default
    T.normalize(x, (1.0, 2.0), (2.0, 4.0), inplace=True)
    np.testing.assert_allclose(x.numpy(), want, rtol=1e-6)
    batch = ember.ones(3, 2, 1, 1)
    assert T.normalize(batch, (1.0, 0.0), (1.0, 2.0)).reshape(3, 2).tolist() == [[0.0, 0.5]] * 3
    hwc = np.ones((1, 1, 2), np.float32)
    np.testing.assert_allclose(T.normalize(hwc, (1.0, 0.0), (1.0, 2.0)), [[[0.0, 0.5]]])
    with pytest.raises(TypeError, match="float tensor"):
        T.normalize(ember.ones(1, 2, 2, dtype=ember.int64), (0,), (1,))
    with pytest.raises(ValueError, match=r"\(\.\.\., C, H, W\)"):
        T.normalize(ember.ones(2, 2), (0,), (1,))
    with pytest.raises(ValueError, match="division by zero"):
        T.normalize(ember.ones(1, 2, 2), (0.0,), (0.0,))
    assert repr(T.Normalize((0.5,), (0.25,))) == "Normalize(mean=(0.5,), std=(0.25,))"


def test_compose_lambda_repr():
    c = T.Compose([T.ToTensor(), T.Lambda(lambda t: t * 2)])
    assert c(np.full((1, 1), 255, np.uint8)).tolist() == [[[2.0]]]
    assert repr(c) == "Compose(\n    ToTensor()\n    Lambda()\n)"
    with pytest.raises(TypeError, match="should be callable"):
        T.Lambda(3)


def test_hflip_and_random_horizontal_flip():
    img = np.arange(6, dtype=np.uint8).reshape(2, 3)
    np.testing.assert_array_equal(T.RandomHorizontalFlip(p=1.0)(img), img[:, ::-1])
    np.testing.assert_array_equal(T.RandomHorizontalFlip(p=0.0)(img), img)
    t = ember.arange(12.0).reshape(2, 1, 2, 3)
    assert T.hflip(t).numpy()[1, 0].tolist() == [[8.0, 7.0, 6.0], [11.0, 10.0, 9.0]]
    ember.manual_seed(0)
    flips = [T.RandomHorizontalFlip()(img)[0, 0] == 2 for _ in range(40)]
    assert 5 < sum(flips) < 35


def test_pad_and_random_crop():
    img = np.arange(1, 10, dtype=np.uint8).reshape(3, 3)
    padded = T.pad(img, 1)
    assert padded.shape == (5, 5) and padded[0].tolist() == [0] * 5 and padded[1, 1] == 1
    assert T.pad(img, (1, 2)).shape == (7, 5)
    assert T.pad(img, (0, 0, 2, 1), padding_mode="edge")[3].tolist() == [7, 8, 9, 9, 9]
    assert T.pad(img, 1, padding_mode="reflect")[0].tolist() == [5, 4, 5, 6, 5]
    rgb = T.pad(np.zeros((1, 1, 3), np.uint8), 1, fill=(1, 2, 3))
    assert rgb[0, 0].tolist() == [1, 2, 3] and rgb[1, 1].tolist() == [0, 0, 0]
    ember.manual_seed(1)
    crop = T.RandomCrop(3, padding=1)
    seen = set()
    for _ in range(60):
        out = crop(img)
        hits = [(i, j) for i in range(3) for j in range(3)
                if np.array_equal(padded[i:i + 3, j:j + 3], out)]
        assert hits, "the crop is not a window of the padded image"
        seen.update(hits)
    assert len(seen) == 9  # every offset occurs
    ember.manual_seed(5)
    a = [crop(img).tolist() for _ in range(5)]
    ember.manual_seed(5)
    assert a == [crop(img).tolist() for _ in range(5)]
    t = T.RandomCrop((2, 1))(ember.arange(18.0).reshape(2, 3, 3))
    assert tuple(t.shape) == (2, 2, 1)
    hwc = T.RandomCrop(2)(np.zeros((3, 3, 4), np.uint8))
    assert hwc.shape == (2, 2, 4)
    assert T.RandomCrop(5, pad_if_needed=True)(img).shape == (5, 5)
    with pytest.raises(ValueError, match=r"Required crop size \(4, 4\) is larger"):
        T.RandomCrop(4)(img)
    assert T.crop(img, -1, 1, 2, 3).tolist() == [[0, 0, 0], [2, 3, 0]]


def test_affine_and_rotation_hand_computed():
    img = np.arange(16, dtype=np.uint8).reshape(4, 4)
    np.testing.assert_array_equal(T.rotate(img, 90), np.rot90(img))  # counter-clockwise
    np.testing.assert_array_equal(T.affine(img, 90, (0, 0), 1.0, 0.0), np.rot90(img, -1))
    np.testing.assert_array_equal(T.RandomRotation((90, 90))(img), np.rot90(img))
    np.testing.assert_array_equal(T.RandomAffine((-90, -90))(img), np.rot90(img))
    shifted = T.affine(img, 0, (1, 2), 1.0, 0.0)  # right by 1, down by 2
    want = np.zeros_like(img)
    want[2:, 1:] = img[:2, :3]
    np.testing.assert_array_equal(shifted, want)
    five = np.arange(25, dtype=np.float32).reshape(5, 5)
    sheared = T.affine(five, 0, (0, 0), 1.0, 45.0)  # out[y, x] = in[y, x + (y - 2)]
    for y in range(5):
        for x in range(5):
            sx = x + (y - 2)
            assert sheared[y, x] == (five[y, sx] if 0 <= sx < 5 else 0)
    zoom = T.affine(five, 0, (0, 0), 2.0, 0.0)
    assert zoom[2, 2] == five[2, 2] and zoom[0, 0] == five[1, 1] and zoom[4, 4] == five[3, 3]
    half = T.affine(five, 0, (0.5, 0), 1.0, 0.0, interpolation="bilinear", fill=10)
    np.testing.assert_allclose(half[:, 1:], (five[:, :-1] + five[:, 1:]) / 2)
    np.testing.assert_allclose(half[:, 0], (five[:, 0] + 10) / 2)
    rgb = T.affine(np.ones((2, 2, 3), np.uint8), 0, (1, 0), 1.0, 0.0, fill=(7, 8, 9))
    assert rgb[0, 0].tolist() == [7, 8, 9] and rgb[0, 1].tolist() == [1, 1, 1]


def test_random_affine_on_tensors_is_reproducible():
    t = ember.rand(1, 28, 28)
    aug = T.RandomAffine(degrees=10, translate=(0.1, 0.1), scale=(0.9, 1.1), shear=5,
                         interpolation=T.InterpolationMode.BILINEAR)
    ember.manual_seed(3)
    a = aug(t)
    ember.manual_seed(3)
    b = aug(t)
    assert tuple(a.shape) == (1, 28, 28) and a.dtype == ember.float32
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert not np.array_equal(a.numpy(), t.numpy())
    angle, (tx, ty), s, (sx, sy) = T.RandomAffine.get_params([-10, 10], [0.1, 0.1], [0.9, 1.1],
                                                            [-5, 5], (28, 28))
    assert -10 <= angle <= 10 and abs(tx) <= 3 and abs(ty) <= 3 and 0.9 <= s <= 1.1
    assert -5 <= sx <= 5 and sy == 0.0
    assert repr(T.RandomAffine(5, translate=(0.1, 0.2))) == \
        "RandomAffine(degrees=[-5.0, 5.0], translate=(0.1, 0.2))"
    for bad in (dict(degrees=-1), dict(degrees=0, translate=(2, 0)), dict(degrees=0, scale=(0, 1)),
                dict(degrees=(1, 2, 3))):
        with pytest.raises(ValueError):
            T.RandomAffine(**bad)


def test_pil_images_round_trip():
    Image = pytest.importorskip("PIL.Image")
    arr = np.arange(12, dtype=np.uint8).reshape(3, 4) * 20
    pil = Image.fromarray(arr, "L")
    flipped = T.hflip(pil)
    assert isinstance(flipped, Image.Image)
    np.testing.assert_array_equal(np.asarray(flipped), arr[:, ::-1])
    rgb = Image.fromarray(np.stack([arr] * 3, -1), "RGB")
    t = T.ToTensor()(rgb)
    assert tuple(t.shape) == (3, 3, 4)
    np.testing.assert_allclose(t.numpy()[1], arr / np.float32(255), rtol=1e-6)
