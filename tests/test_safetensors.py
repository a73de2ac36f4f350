"""ember.utils.safetensors: the format written and read directly, validated, and checked
against the reference ``safetensors`` package when it is installed."""
from __future__ import annotations

import json
import struct

import numpy as np
import pytest
import torch

import ember
from ember.utils import safetensors as est
from ember.utils.safetensors import SafetensorError

DTYPES = (ember.float64, ember.float32, ember.float16, ember.int64, ember.int32, ember.int16,
          ember.int8, ember.uint8, ember.bool, ember.complex64)


def sample():
    rng = np.random.default_rng(0)
    out = {f"t_{d.name}": ember.from_numpy((rng.standard_normal((2, 3)) * 50).astype(d.np))
           for d in DTYPES}
    base = ember.arange(12.).reshape(3, 4)
    out.update(scalar=ember.tensor(7, dtype=ember.int64), empty=ember.zeros(0, 5),
               transposed=base.t(), column=base[:, 1], shared=base)
    return out


def raw_file(header: dict, data: bytes = b"", pad: bool = True) -> bytes:
    h = json.dumps(header).encode()
    if pad:
        h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h + data


def test_roundtrip_bytes_and_file(tmp_path):
    tensors = sample()
    meta = {"format": "pt", "note": "héllo"}
    for loaded in (est.load(est.save(tensors, metadata=meta)),
                   (est.save_file(tensors, tmp_path / "m.safetensors", metadata=meta),
                    est.load_file(tmp_path / "m.safetensors"))[1]):
        assert sorted(loaded) == sorted(tensors)
        for k, v in tensors.items():
            assert loaded[k].dtype == v.dtype and loaded[k].shape == v.shape, k
            np.testing.assert_array_equal(loaded[k].numpy(), v.numpy())
    with est.safe_open(tmp_path / "m.safetensors", framework="pt") as f:
        assert f.metadata() == meta and f.keys() == sorted(tensors)
        assert f.get_tensor("column").tolist() == [1.0, 5.0, 9.0]
        with pytest.raises(SafetensorError, match="no tensor"):
            f.get_tensor("nope")
    loaded = est.load_file(tmp_path / "m.safetensors")
    loaded["t_float32"].add_(1)                              # results are writable
    assert est.load_file(tmp_path / "m.safetensors")["t_float32"].tolist() == \
        tensors["t_float32"].tolist()


def test_layout_is_the_documented_one():
    data = est.save({"b": ember.ones(3, dtype=ember.float16), "a": ember.zeros(2)},
                    metadata={"k": "v"})
    (n,) = struct.unpack("<Q", data[:8])
    assert n % 8 == 0
    header = json.loads(data[8:8 + n])
    assert header["__metadata__"] == {"k": "v"}
    assert header["a"] == {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}
    assert header["b"] == {"dtype": "F16", "shape": [3], "data_offsets": [8, 14]}
    assert data[8 + n:8 + n + 8] == np.zeros(2, "<f4").tobytes()
    assert len(data) == 8 + n + 14


def test_write_refuses_bad_input():
    with pytest.raises(TypeError):
        est.save({"a": np.zeros(2)})
    with pytest.raises(TypeError):
        est.save({1: ember.zeros(2)})
    with pytest.raises(TypeError):
        est.save({"a": ember.zeros(2)}, metadata={"k": 1})
    with pytest.raises(ValueError, match="complex128"):
        est.save({"a": ember.zeros(2, dtype=ember.complex128)})
    with pytest.raises(ValueError, match="reserved"):
        est.save({"__metadata__": ember.zeros(1)})


F4 = np.arange(4, dtype="<f4").tobytes()


@pytest.mark.parametrize("data, needle", [
    (b"", "too short"),
    (b"\x05\x00\x00", "too short"),
    (struct.pack("<Q", 10 ** 12) + b"{}", "limit"),
    (struct.pack("<Q", 64) + b"{}", "past the end"),
    (struct.pack("<Q", 4) + b"abcd", "does not start"),
    (struct.pack("<Q", 4) + b"{\xff\xfe}", "not valid UTF-8 JSON"),
    (struct.pack("<Q", 3) + b"{x}", "JSON"),
    (raw_file({"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}, F4[:8]),
     "truncated"),
    (raw_file({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}, F4), "trailing"),
    (raw_file({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
               "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}, F4[:12]),
     "overlaps"),
    (raw_file({"a": {"dtype": "F32", "shape": [2], "data_offsets": [8, 16]}}, F4), "gap"),
    (raw_file({"a": {"dtype": "F32", "shape": [3], "data_offsets": [0, 16]}}, F4), "needs 12"),
    (raw_file({"a": {"dtype": "F33", "shape": [4], "data_offsets": [0, 16]}}, F4),
     "unknown dtype"),
    (raw_file({"a": {"dtype": "F32", "shape": [-4], "data_offsets": [0, 16]}}, F4),
     "invalid shape"),
    (raw_file({"a": {"dtype": "F32", "shape": [4], "data_offsets": [16, 0]}}, F4),
     "invalid data_offsets"),
    (raw_file({"a": {"dtype": "F32", "shape": [4]}}, F4), "exactly"),
    (raw_file({"__metadata__": {"k": 3}}), "__metadata__"),
    (raw_file([1, 2]), "does not start"),
    (raw_file({"a": {"dtype": "F32", "shape": [True], "data_offsets": [0, 4]}}, F4[:4]),
     "invalid shape"),
])
def test_invalid_files_are_refused_clearly(tmp_path, data, needle):
    with pytest.raises(SafetensorError, match=needle):
        est.load(data)
    (tmp_path / "bad.safetensors").write_bytes(data)
    with pytest.raises(SafetensorError, match=needle):
        est.load_file(tmp_path / "bad.safetensors")


def test_duplicate_names_refused():
    h = (b'{"a":{"dtype":"F32","shape":[0],"data_offsets":[0,0]},'
         b'"a":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}}')
    with pytest.raises(SafetensorError, match="twice"):
        est.load(struct.pack("<Q", len(h)) + h)


def test_bf16_and_unrepresentable_dtypes():
    bf = np.array([0x3FC0, 0xC000], "<u2").tobytes()       # 1.5, -2.0 as bfloat16
    data = raw_file({"b": {"dtype": "BF16", "shape": [2], "data_offsets": [0, 4]}}, bf)
    with pytest.warns(UserWarning, match="BF16"):
        out = est.load(data)
    assert out["b"].dtype == ember.float32 and out["b"].tolist() == [1.5, -2.0]
    data = raw_file({"u": {"dtype": "U16", "shape": [2], "data_offsets": [0, 4]}}, bf)
    with pytest.raises(NotImplementedError, match="U16"):
        est.load(data)


def test_bool_bytes_are_normalised():
    data = raw_file({"m": {"dtype": "BOOL", "shape": [3], "data_offsets": [0, 3]}},
                    b"\x00\x01\x07")
    assert est.load(data)["m"].tolist() == [False, True, True]


def test_unaligned_data_still_loads():
    h = json.dumps({"a": {"dtype": "U8", "shape": [1], "data_offsets": [0, 1]},
                    "b": {"dtype": "F32", "shape": [2], "data_offsets": [1, 9]}}).encode()
    data = struct.pack("<Q", len(h)) + h + b"\x05" + np.array([1.5, 2.5], "<f4").tobytes()
    out = est.load(data)
    assert out["a"].tolist() == [5] and out["b"].tolist() == [1.5, 2.5]


# ---- cross-check with the reference implementation (only where it is installed) -----------------
def test_reference_package_reads_ember_files(tmp_path):
    st = pytest.importorskip("safetensors.torch")
    tensors = sample()
    est.save_file(tensors, tmp_path / "e.safetensors", metadata={"a": "b"})
    ref = st.load_file(str(tmp_path / "e.safetensors"))
    for k, v in tensors.items():
        assert str(ref[k].dtype) == f"torch.{v.dtype.name}", k
        np.testing.assert_array_equal(ref[k].numpy(), v.numpy())
    from safetensors import safe_open as ref_open
    with ref_open(str(tmp_path / "e.safetensors"), framework="pt") as f:
        assert f.metadata() == {"a": "b"}


def test_ember_reads_reference_files(tmp_path):
    st = pytest.importorskip("safetensors.torch")
    torch.manual_seed(0)
    tensors = {"w": torch.randn(3, 4), "i": torch.arange(5), "h": torch.ones(2).half(),
               "m": torch.tensor([True, False]), "c": torch.tensor([1 + 2j]),
               "s": torch.tensor(3.0), "e": torch.zeros(0, 2),
               "bf": torch.tensor([1.0, 2.5], dtype=torch.bfloat16)}
    st.save_file(tensors, str(tmp_path / "t.safetensors"), metadata={"x": "y"})
    with pytest.warns(UserWarning, match="BF16"):
        out = est.load_file(tmp_path / "t.safetensors")
    for k, v in tensors.items():
        if k == "bf":
            assert out[k].tolist() == [1.0, 2.5]
            continue
        assert str(v.dtype) == f"torch.{out[k].dtype.name}"
        np.testing.assert_array_equal(out[k].numpy(), v.numpy())
    with est.safe_open(tmp_path / "t.safetensors") as f:
        assert f.metadata() == {"x": "y"}
    assert st.load(est.save({"a": ember.ones(2)}))["a"].tolist() == [1.0, 1.0]
