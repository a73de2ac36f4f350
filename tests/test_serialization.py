"""ember.save / ember.load against torch 2.13, in both directions, plus hostile and broken
files, atomic saves and plain pickling."""
from __future__ import annotations

import copy
import io
import os
import pickle
import signal
import struct
import subprocess
import sys
import textwrap
import time
import zipfile
from collections import OrderedDict

import numpy as np
import pytest
import torch

import ember
from ember import serialization as es
from ember.nn.parameter import Parameter

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LOAD_ERRORS = (RuntimeError, pickle.UnpicklingError)


# ---- helpers ---------------------------------------------------------------------------------
def assert_same(e, t):
    """An ember tensor equals a torch tensor: dtype, shape, values."""
    assert isinstance(e, ember.Tensor), type(e)
    assert isinstance(t, torch.Tensor), type(t)
    assert str(e.dtype).split(".")[1] == str(t.dtype).split(".")[1]
    assert tuple(e.shape) == tuple(t.shape)
    np.testing.assert_array_equal(e.detach().numpy(), t.detach().numpy())


def torch_model():
    torch.manual_seed(0)
    m = torch.nn.Sequential(
        torch.nn.Conv2d(3, 4, 3, padding=1), torch.nn.BatchNorm2d(4), torch.nn.ReLU(),
        torch.nn.Flatten(), torch.nn.Linear(4 * 5 * 5, 6))
    m.train()
    for _ in range(3):   # move the running stats and num_batches_tracked off their defaults
        m(torch.randn(2, 3, 5, 5))
    return m.eval()


def ember_state_dict(sd):
    """A torch state_dict as ember tensors built from the same numbers (no serialization)."""
    return OrderedDict((k, ember.from_numpy(v.detach().numpy().copy())) for k, v in sd.items())


def g(module: str, name: str) -> bytes:               # GLOBAL opcode
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n"


def s(text: str) -> bytes:                              # BINUNICODE
    raw = text.encode()
    return b"X" + struct.pack("<I", len(raw)) + raw


def i(n: int) -> bytes:                                 # BININT
    return b"J" + struct.pack("<i", n)


def tup(*items: bytes) -> bytes:                        # MARK ... TUPLE
    return b"(" + b"".join(items) + b"t"


def tensor_pickle(key="0", numel=4, size=(4,), stride=(1,), offset=0, stype="FloatStorage"):
    pid = tup(s("storage"), g("torch", stype), s(key), s("cpu"), i(numel)) + b"Q"
    return (g("torch._utils", "_rebuild_tensor_v2")
            + tup(pid, i(offset), tup(*map(i, size)), tup(*map(i, stride)), b"\x89",
                  g("collections", "OrderedDict") + b")R") + b"R")


def zip_checkpoint(pkl: bytes, records=None, prefix="archive") -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr(f"{prefix}/data.pkl", pkl)
        z.writestr(f"{prefix}/byteorder", "little")
        for k, v in (records or {}).items():
            z.writestr(f"{prefix}/{k}", v)
        z.writestr(f"{prefix}/version", "3\n")
    return buf.getvalue()


FOUR = {"data/0": np.arange(4, dtype=np.float32).tobytes()}


# ---- torch -> ember --------------------------------------------------------------------------
def test_torch_state_dict_loads_in_ember(tmp_path):
    m = torch_model()
    sd = m.state_dict()
    torch.save(sd, tmp_path / "m.pt")
    e = ember.load(tmp_path / "m.pt")
    assert type(e) is OrderedDict and list(e) == list(sd)
    for k in sd:
        assert_same(e[k], sd[k])
    nbt = e["1.num_batches_tracked"]
    assert nbt.dtype == ember.int64 and nbt.shape == () and nbt.item() == 3
    assert e._metadata == sd._metadata            # the OrderedDict's attributes (BUILD)


def test_torch_mixed_objects_load_in_ember(tmp_path):
    base = torch.arange(24, dtype=torch.float32).reshape(4, 6)
    obj = {"i": 7, "big": 2 ** 70, "f": 1.5, "s": "héllo", "l": [1, "two", (3, None)],
           "b": b"\x00\xff", "set": {1, 2}, "c": 1 - 2j, "dtype": torch.float16,
           "dev": torch.device("cpu"), "size": torch.Size([2, 3]),
           "i64": torch.tensor([1, -2 ** 40]), "bool": torch.tensor([True, False, True]),
           "f16": torch.tensor([0.5, -1.25], dtype=torch.float16),
           "u8": torch.arange(5, dtype=torch.uint8), "i8": torch.tensor([-3], dtype=torch.int8),
           "f64": torch.tensor([[1e-300]], dtype=torch.float64),
           "c64": torch.tensor([1 + 1j]), "scalar": torch.tensor(3.5), "empty": torch.zeros(0, 3),
           "base": base, "col": base[:, 2], "t": base.t(), "step": base[1::2, ::3],
           "expand": torch.tensor([1.0, 2.0]).expand(3, 2)}
    torch.save(obj, tmp_path / "o.pt")
    e = ember.load(tmp_path / "o.pt")
    for k in ("i", "big", "f", "s", "l", "b", "set", "c"):
        assert e[k] == obj[k] and type(e[k]) is type(obj[k])
    assert e["dtype"] is ember.float16 and e["dev"] == ember.device("cpu")
    assert isinstance(e["size"], ember.Size) and e["size"] == (2, 3)
    for k, v in obj.items():
        if isinstance(v, torch.Tensor):
            assert_same(e[k], v)
            assert e[k].stride() == v.stride() or v.numel() == 0, k
            assert e[k].storage_offset() == v.storage_offset(), k
    # the views share memory with "base", as they do in torch
    for k in ("col", "t", "step"):
        assert np.shares_memory(e[k].numpy(), e["base"].numpy()), k
    e["col"].add_(100)
    assert e["base"][0, 2].item() == 102 and e["t"][2, 0].item() == 102


def test_torch_legacy_format_loads(tmp_path):
    base = torch.arange(10.)
    obj = {"w": base, "v": base[3:7], "n": torch.tensor(4), "h": torch.ones(2).half()}
    torch.save(obj, tmp_path / "legacy.pt", _use_new_zipfile_serialization=False)
    with open(tmp_path / "legacy.pt", "rb") as f:
        assert f.read(2) != b"PK"
    e = ember.load(tmp_path / "legacy.pt")
    for k in obj:
        assert_same(e[k], obj[k])
    assert np.shares_memory(e["v"].numpy(), e["w"].numpy())
    # and from a file object, too
    buf = io.BytesIO((tmp_path / "legacy.pt").read_bytes())
    assert_same(ember.load(buf)["v"], obj["v"])


def test_torch_parameters_and_bfloat16(tmp_path):
    p = torch.nn.Parameter(torch.randn(3))
    torch.save({"p": p, "frozen": torch.nn.Parameter(torch.ones(2), requires_grad=False),
                "bf": torch.tensor([1.5, -2.0, 3.0], dtype=torch.bfloat16)}, tmp_path / "p.pt")
    with pytest.warns(UserWarning, match="bfloat16"):
        e = ember.load(tmp_path / "p.pt")
    assert isinstance(e["p"], Parameter) and e["p"].requires_grad
    assert isinstance(e["frozen"], Parameter) and not e["frozen"].requires_grad
    assert_same(e["p"], p)
    assert e["bf"].dtype == ember.float32 and e["bf"].tolist() == [1.5, -2.0, 3.0]


def test_torch_unsupported_dtype_is_a_clear_error(tmp_path):
    torch.save({"u": torch.zeros(3, dtype=torch.uint16)}, tmp_path / "u.pt")
    with pytest.raises(NotImplementedError, match="uint16"):
        ember.load(tmp_path / "u.pt")


# ---- ember -> torch --------------------------------------------------------------------------
def test_ember_state_dict_loads_in_torch(tmp_path):
    m = torch_model()
    sd = m.state_dict()
    esd = ember_state_dict(sd)
    ember.save(esd, tmp_path / "e.pt")
    t = torch.load(tmp_path / "e.pt", weights_only=True)
    assert list(t) == list(sd)
    for k in sd:
        assert torch.equal(t[k], sd[k]) and t[k].dtype == sd[k].dtype, k
    fresh = torch_model()
    with torch.no_grad():
        for prm in fresh.parameters():
            prm.add_(1)
    fresh.load_state_dict(t)
    x = torch.randn(2, 3, 5, 5)
    assert torch.equal(fresh(x), m(x))


def test_ember_mixed_objects_load_in_torch(tmp_path):
    base = ember.arange(24, dtype=ember.float32).reshape(4, 6)
    obj = {"i": 7, "s": "x", "l": [1, [2, 3]], "none": None, "f": 2.5, "b": b"\x01\x02",
           "set": {1, 2}, "c": 1 - 2j, "od": OrderedDict(z=1, a=(2, 3)), "big": -2 ** 80,
           "dtype": ember.int64, "dev": ember.device("cpu"), "size": ember.Size([1, 2]),
           "i64": ember.tensor([1, -2 ** 40]), "bool": ember.tensor([True, False]),
           "f16": ember.tensor([0.5, 3.0], dtype=ember.float16),
           "scalar": ember.tensor(0, dtype=ember.int64), "empty": ember.zeros(0, 2),
           "c128": ember.tensor([1 + 2j], dtype=ember.complex128),
           "base": base, "col": base[:, 2], "t": base.t(), "step": base[1::2, ::3],
           "expand": ember.tensor([1.0, 2.0]).expand(3, 2), "grad": ember.ones(2).requires_grad_()}
    ember.save(obj, tmp_path / "o.pt")
    t = torch.load(tmp_path / "o.pt", weights_only=True)
    for k in ("i", "s", "l", "none", "f", "b", "set", "c", "od", "big"):
        assert t[k] == obj[k] and type(t[k]) is type(obj[k]), k
    assert t["dtype"] is torch.int64 and t["dev"] == torch.device("cpu")
    assert t["size"] == torch.Size([1, 2]) and type(t["size"]) is torch.Size
    for k, v in obj.items():
        if isinstance(v, ember.Tensor):
            assert_same(v, t[k])
            assert t[k].stride() == v.stride() or v.numel() == 0, k
            assert t[k].storage_offset() == v.storage_offset(), k
    assert t["grad"].requires_grad and t["grad"].is_leaf
    ptr = t["base"].untyped_storage().data_ptr()
    for k in ("col", "t", "step"):
        assert t[k].untyped_storage().data_ptr() == ptr, k
    t["col"].add_(100)
    assert t["base"][0, 2] == 102


def test_ember_file_layout_matches_torch(tmp_path):
    ember.save({"a": ember.ones(3), "n": ember.tensor(1)}, tmp_path / "e.pt")
    with zipfile.ZipFile(tmp_path / "e.pt") as z:
        names = z.namelist()
        assert names[0] == "archive/data.pkl"
        for rec in ("byteorder", "version", ".format_version", ".storage_alignment",
                    ".data/serialization_id", "data/0", "data/1"):
            assert f"archive/{rec}" in names
        assert z.read("archive/version") == b"3\n"
        assert z.read("archive/byteorder") == sys.byteorder.encode()
        raw = (tmp_path / "e.pt").read_bytes()
        for info in z.infolist():          # every record's data is 64-byte aligned, like torch's
            n, x = struct.unpack("<HH", raw[info.header_offset + 26:info.header_offset + 30])
            assert (info.header_offset + 30 + n + x) % 64 == 0
    t = torch.load(tmp_path / "e.pt", weights_only=True, mmap=True)
    assert torch.equal(t["a"], torch.ones(3))


def test_ember_parameters_load_in_torch(tmp_path):
    p = Parameter(ember.randn(2, 2))
    q = Parameter(ember.ones(3), requires_grad=False)
    ember.save([p, q, p], tmp_path / "p.pt")
    t = torch.load(tmp_path / "p.pt", weights_only=True)
    assert isinstance(t[0], torch.nn.Parameter) and t[0].requires_grad
    assert isinstance(t[1], torch.nn.Parameter) and not t[1].requires_grad
    assert t[2] is t[0]
    assert_same(p, t[0])
    e = ember.load(tmp_path / "p.pt")
    assert isinstance(e[0], Parameter) and e[2] is e[0] and not e[1].requires_grad


def test_ember_roundtrip_all_dtypes_and_layouts(tmp_path):
    f_order = ember.from_numpy(np.asfortranarray(np.arange(12.).reshape(3, 4)))
    perm = ember.from_numpy(np.arange(24.).reshape(2, 3, 4).transpose(1, 0, 2).copy(order="K"))
    obj = {d.name: ember.ones(2, 3, dtype=d) for d in (
        ember.float16, ember.float32, ember.float64, ember.int8, ember.int16, ember.int32,
        ember.int64, ember.uint8, ember.bool, ember.complex64, ember.complex128)}
    obj.update(f=f_order, f_row=f_order[1], perm=perm, perm_view=perm[:, 1],
               flipped=ember.from_numpy(np.arange(5.)[::-1]))
    ember.save(obj, tmp_path / "a.pt")
    e = ember.load(tmp_path / "a.pt")
    t = torch.load(tmp_path / "a.pt", weights_only=True)
    for k, v in obj.items():
        assert e[k].dtype == v.dtype and e[k].shape == v.shape, k
        np.testing.assert_array_equal(e[k].numpy(), v.numpy())
        assert_same(v, t[k])
    assert np.shares_memory(e["f"].numpy(), e["f_row"].numpy())
    assert np.shares_memory(e["perm"].numpy(), e["perm_view"].numpy())


def test_file_objects_both_ways():
    buf = io.BytesIO()
    ember.save({"w": ember.arange(3.)}, buf)
    buf.seek(0)
    assert torch.equal(torch.load(buf, weights_only=True)["w"], torch.arange(3.))
    tbuf = io.BytesIO()
    torch.save({"w": torch.arange(3.)}, tbuf)
    tbuf.seek(0)

    class Stream:                      # read-only, not seekable (e.g. a pipe)
        def __init__(self, data):
            self._b = io.BytesIO(data)

        def read(self, n=-1):
            return self._b.read(n)

        def seekable(self):
            return False

    assert ember.load(Stream(tbuf.getvalue()))["w"].tolist() == [0.0, 1.0, 2.0]

    class Sink:                        # write-only, not seekable
        def __init__(self):
            self.chunks = []

        def write(self, b):
            self.chunks.append(bytes(b))
            return len(b)

        def flush(self):
            pass

    sink = Sink()
    ember.save({"w": ember.arange(4.)}, sink)
    data = b"".join(sink.chunks)
    assert torch.load(io.BytesIO(data), weights_only=True)["w"].tolist() == [0, 1, 2, 3]
    assert ember.load(io.BytesIO(data))["w"].tolist() == [0, 1, 2, 3]


def test_mmap_load(tmp_path):
    torch.save({"w": torch.arange(6.).reshape(2, 3)}, tmp_path / "t.pt")
    e = ember.load(tmp_path / "t.pt", mmap=True)
    assert e["w"].tolist() == [[0, 1, 2], [3, 4, 5]]
    e["w"].add_(1)                                  # copy-on-write: the file is unchanged
    assert ember.load(tmp_path / "t.pt")["w"][0, 0].item() == 0
    with pytest.raises(ValueError, match="path"):
        ember.load(io.BytesIO((tmp_path / "t.pt").read_bytes()), mmap=True)


# ---- hostile files: refused, and the payload never runs --------------------------------------
class Evil:
    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


class EvilPopen(Evil):
    def __reduce__(self):
        return (subprocess.Popen, (["touch", self.marker],))


class EvilEval(Evil):
    def __reduce__(self):
        return (eval, (f"open({self.marker!r}, 'w')",))


class Point:                                 # an innocent user class for add_safe_globals
    def __init__(self, x, y):
        self.x, self.y = x, y


def _payloads(m):
    """name -> (file bytes, text the error must contain)."""
    cmd = f"touch {m}"
    torch_dict = io.BytesIO()
    torch.save({"w": torch.ones(2), "evil": Evil(m)}, torch_dict)
    nested = io.BytesIO()
    torch.save(OrderedDict(a=OrderedDict(b=[1, {"c": Evil(m)}])), nested)
    popen = io.BytesIO()
    torch.save({"p": EvilPopen(m)}, popen)
    eval_p2 = g("builtins", "eval") + tup(s(f"open({str(m)!r}, 'w')")) + b"R"
    exec_p4 = (b"\x80\x04" + b"\x8c\x08builtins\x94\x8c\x04exec\x94\x93" + s(
        f"open({str(m)!r}, 'w')") + b"\x85R.")
    getattr_chain = (g("builtins", "getattr") + tup(
        g("builtins", "getattr") + tup(g("collections", "OrderedDict"), s("__init__")) + b"R",
        s("__globals__")) + b"R")
    return {
        "torch_save_os_system": (torch_dict.getvalue(), "system"),
        "plain_pickle": (pickle.dumps(Evil(m)), "system"),
        "plain_pickle_protocol0": (pickle.dumps(Evil(m), protocol=0), "system"),
        "nested_in_ordereddict": (nested.getvalue(), "system"),
        "subprocess_popen": (popen.getvalue(), "subprocess.Popen"),
        "eval_global": (zip_checkpoint(b"\x80\x02" + eval_p2 + b"."), "builtins.eval"),
        "exec_stack_global": (zip_checkpoint(exec_p4), "builtins.exec"),
        "getattr_chain": (zip_checkpoint(b"\x80\x02" + getattr_chain + b"."),
                          "builtins.getattr"),
        "main_global": (zip_checkpoint(b"\x80\x02" + g("__main__", "Evil") + b")R."),
                        "__main__.Evil"),
        "inst_opcode": (zip_checkpoint(b"(S'" + cmd.encode() + b"'\nios\nsystem\n."), "INST"),
        "obj_opcode": (zip_checkpoint(b"(ccollections\nOrderedDict\no."), "OBJ"),
        "ext_opcode": (zip_checkpoint(b"\x80\x02\x82\x01."), "EXT1"),
        "reduce_on_tensor_class": (zip_checkpoint(
            b"\x80\x02" + g("torch", "Tensor") + tup(i(10 ** 9)) + b"R."), "not allowed"),
        "build_sets_tensor_internals": (zip_checkpoint(
            b"\x80\x02" + tensor_pickle() + b"}" + s("_data") + s("x") + b"sb.", FOUR),
            "BUILD"),
        "persistent_id_not_storage": (zip_checkpoint(
            b"\x80\x02" + tup(s("module"), s("x"), s("y"), s("z")) + b"Q."),
            "only storages"),
        "persistent_id_fake_storage_type": (zip_checkpoint(
            b"\x80\x02" + tup(s("storage"), s("FloatStorage"), s("0"), s("cpu"), i(4))
            + b"Q.", FOUR), "not a torch storage type"),
        "rebuild_with_non_storage": (zip_checkpoint(
            b"\x80\x02" + g("torch._utils", "_rebuild_tensor_v2")
            + tup(s("junk"), i(0), tup(i(4)), tup(i(1)), b"\x89", b"}") + b"R."),
            "expected a storage"),
    }


PAYLOADS = list(_payloads("M"))


@pytest.mark.parametrize("name", PAYLOADS)
def test_hostile_file_refused_and_payload_not_run(tmp_path, name):
    marker = tmp_path / "pwned"
    data, needle = _payloads(marker)[name]
    path = tmp_path / "evil.pt"
    path.write_bytes(data)
    with pytest.raises(pickle.UnpicklingError) as info:
        ember.load(path)
    assert needle in str(info.value)
    with pytest.raises(pickle.UnpicklingError):
        ember.load(io.BytesIO(data), weights_only=None)     # None means True, as in torch
    assert not marker.exists()


def test_get_unsafe_globals_in_checkpoint(tmp_path):
    for legacy in (False, True):
        buf = io.BytesIO()
        torch.save({"w": torch.ones(2), "e": Evil("x"), "p": EvilPopen("y")}, buf,
                   _use_new_zipfile_serialization=not legacy)
        buf.seek(0)
        assert es.get_unsafe_globals_in_checkpoint(buf) == ["posix.system", "subprocess.Popen"]


def test_payload_is_real(tmp_path):
    """Control: the same bytes do run their payload under a plain unpickler, so the refusal
    above is what keeps the marker file from appearing."""
    marker = tmp_path / "pwned"
    pickle.loads(_payloads(marker)["plain_pickle"][0])
    assert marker.exists()


def test_blocked_module_stays_blocked_even_if_allowed(tmp_path):
    marker = tmp_path / "pwned"
    es.add_safe_globals([os.system])
    try:
        with pytest.raises(pickle.UnpicklingError, match="blocked"):
            ember.load(io.BytesIO(pickle.dumps(Evil(marker))))
    finally:
        es.clear_safe_globals()
    assert not marker.exists()


def test_tensor_rebuild_outside_storage_refused():
    ok = zip_checkpoint(b"\x80\x02" + tensor_pickle() + b".", FOUR)
    assert ember.load(io.BytesIO(ok)).tolist() == [0, 1, 2, 3]
    assert torch.load(io.BytesIO(ok), weights_only=True).tolist() == [0, 1, 2, 3]
    bad = {
        "size": tensor_pickle(size=(10,)),
        "stride": tensor_pickle(size=(2, 2), stride=(3, 1)),
        "offset": tensor_pickle(size=(2,), offset=3),
        "numel_lies": tensor_pickle(numel=1000, size=(1000,)),
        "negative_stride": tensor_pickle(size=(2,), stride=(-1,), offset=3),
    }
    for name, pkl in bad.items():
        with pytest.raises(LOAD_ERRORS) as info:
            ember.load(io.BytesIO(zip_checkpoint(b"\x80\x02" + pkl + b".", FOUR)))
        assert any(w in str(info.value) for w in ("reaches element", "bytes", "non-negative")), \
            name
    with pytest.raises(RuntimeError, match="missing"):
        ember.load(io.BytesIO(zip_checkpoint(b"\x80\x02" + tensor_pickle(key="7") + b".",
                                             FOUR)))


def test_add_safe_globals(tmp_path):
    ember.save({"pt": Point(1, 2), "w": ember.ones(1)}, tmp_path / "pt.pt")
    with pytest.raises(pickle.UnpicklingError, match="Point"):
        ember.load(tmp_path / "pt.pt")
    assert "test_serialization.Point" in es.get_unsafe_globals_in_checkpoint(tmp_path / "pt.pt")
    with es.safe_globals([Point]):
        assert ember.load(tmp_path / "pt.pt")["pt"].y == 2
    assert es.get_safe_globals() == []
    es.add_safe_globals([Point])
    try:
        assert es.get_safe_globals() == [Point]
        out = ember.load(tmp_path / "pt.pt")
        assert isinstance(out["pt"], Point) and out["pt"].x == 1
        assert es.get_unsafe_globals_in_checkpoint(tmp_path / "pt.pt") == []
    finally:
        es.clear_safe_globals()
    with pytest.raises(pickle.UnpicklingError):
        ember.load(tmp_path / "pt.pt")
    # weights_only=False is the explicit opt-in for arbitrary objects
    assert ember.load(tmp_path / "pt.pt", weights_only=False)["pt"].x == 1
    # a class registered under the name a checkpoint uses for it (here called via REDUCE)
    renamed = zip_checkpoint(b"\x80\x02" + g("old.place", "Pt") + tup(i(3), i(4)) + b"R.")
    with pytest.raises(pickle.UnpicklingError, match="old.place.Pt"):
        ember.load(io.BytesIO(renamed))
    with es.safe_globals([(Point, "old.place.Pt")]):
        pt = ember.load(io.BytesIO(renamed))
    assert isinstance(pt, Point) and (pt.x, pt.y) == (3, 4)


def test_weights_only_false_maps_torch_globals(tmp_path):
    torch.save({"w": torch.arange(3.), "d": torch.float64, "sz": torch.Size([2])},
               tmp_path / "t.pt")
    e = ember.load(tmp_path / "t.pt", weights_only=False)
    assert isinstance(e["w"], ember.Tensor) and e["d"] is ember.float64
    assert isinstance(e["sz"], ember.Size)


# ---- map_location ----------------------------------------------------------------------------
def _cuda_located(tmp_path):
    """A torch checkpoint whose storage claims to live on cuda:0 (rewritten from a cpu one)."""
    buf = io.BytesIO()
    torch.save({"w": torch.arange(3.)}, buf)
    src = zipfile.ZipFile(io.BytesIO(buf.getvalue()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for n in src.namelist():
            data = src.read(n)
            if n.endswith("data.pkl"):
                assert s("cpu") in data
                data = data.replace(s("cpu"), s("cuda:0"))
            z.writestr(n, data)
    path = tmp_path / "cuda.pt"
    path.write_bytes(out.getvalue())
    return path


def test_map_location(tmp_path):
    cpu = tmp_path / "cpu.pt"
    torch.save({"w": torch.arange(3.)}, cpu)
    for ml in ("cpu", ember.device("cpu"), torch.device("cpu"), {"cpu": "cpu"},
               lambda storage, loc: storage, lambda storage, loc: None):
        assert ember.load(cpu, map_location=ml)["w"].tolist() == [0, 1, 2]
    for ml in ("cuda", "cuda:0", ember.device("cuda"), {"cpu": "cuda:1"}):
        with pytest.raises(RuntimeError, match="(?i)cuda"):
            ember.load(cpu, map_location=ml)
    with pytest.raises(TypeError, match="map_location"):
        ember.load(cpu, map_location=5)
    with pytest.raises(RuntimeError, match="map_location"):
        ember.load(cpu, map_location=lambda storage, loc: "cpu")

    cuda = _cuda_located(tmp_path)
    with pytest.raises(RuntimeError, match="map_location='cpu'"):
        ember.load(cuda)
    seen = []
    for ml in ("cpu", {"cuda:0": "cpu"}, lambda st, loc: seen.append(loc) or st):
        assert ember.load(cuda, map_location=ml)["w"].tolist() == [0, 1, 2]
    assert seen == ["cuda:0"]


# ---- broken files ----------------------------------------------------------------------------
def test_truncated_and_corrupted_files(tmp_path):
    m = torch_model()
    buf = io.BytesIO()
    torch.save(m.state_dict(), buf)
    data = buf.getvalue()
    for cut in (0, 1, 3, 30, 100, len(data) // 3, len(data) // 2, len(data) - 30, len(data) - 1):
        with pytest.raises(LOAD_ERRORS):
            ember.load(io.BytesIO(data[:cut]))
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        info = z.getinfo(next(n for n in z.namelist() if n.endswith("data/0")))
        pkl = z.getinfo(next(n for n in z.namelist() if n.endswith("data.pkl")))
    for off in (info.header_offset + 200, pkl.header_offset + 90):   # storage / pickle bytes
        bad = bytearray(data)
        bad[off] ^= 0xFF
        with pytest.raises(RuntimeError, match="corrupted|CRC"):
            ember.load(io.BytesIO(bytes(bad)))
    legacy = io.BytesIO()
    torch.save(m.state_dict(), legacy, _use_new_zipfile_serialization=False)
    for frac in (0.1, 0.5, 0.99):
        with pytest.raises(LOAD_ERRORS):
            ember.load(io.BytesIO(legacy.getvalue()[:int(len(legacy.getvalue()) * frac)]))


def test_files_that_are_not_checkpoints(tmp_path):
    cases = {
        "empty": (b"", "empty"),
        "text": (b"hello world, not a checkpoint\n", ""),
        "random": (np.random.default_rng(0).bytes(300), ""),
        "other_zip": (_zip({"notes.txt": "hi"}), "not a PyTorch checkpoint"),
        "torchscript": (_zip({"m/constants.pkl": "x", "m/version": "3"}), "TorchScript"),
        "no_version": (_zip({"a/data.pkl": b"\x80\x02N."}), "version"),
        "plain_pickled_int": (pickle.dumps(5), "magic number"),
    }
    for name, (data, needle) in cases.items():
        with pytest.raises(LOAD_ERRORS) as info:
            ember.load(io.BytesIO(data))
        assert needle in str(info.value), (name, str(info.value))


def _zip(records):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for k, v in records.items():
            z.writestr(k, v)
    return buf.getvalue()


# ---- atomic saves ----------------------------------------------------------------------------
def _leftovers(d):
    return [n for n in os.listdir(d) if n.endswith(".tmp")]


def test_failed_save_keeps_old_file(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.pt"
    ember.save({"v": ember.tensor([1.0])}, path)
    with pytest.raises((pickle.PicklingError, AttributeError, TypeError)):
        ember.save({"v": ember.tensor([2.0]), "f": lambda x: x}, path)
    assert ember.load(path)["v"].tolist() == [1.0] and _leftovers(tmp_path) == []

    def broken_fsync(fd):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(os, "fsync", broken_fsync)
    with pytest.raises(OSError, match="space"):
        ember.save({"v": ember.tensor([3.0])}, path)
    monkeypatch.undo()
    assert ember.load(path)["v"].tolist() == [1.0] and _leftovers(tmp_path) == []
    with pytest.raises(RuntimeError, match="Parent directory"):
        ember.save({}, tmp_path / "missing" / "x.pt")
    with pytest.raises(IsADirectoryError):
        ember.save({}, tmp_path)


def test_save_killed_midway_leaves_previous_checkpoint(tmp_path):
    path = tmp_path / "ckpt.pt"
    child = textwrap.dedent("""
        import sys
        import ember
        path = sys.argv[1]
        i = 0
        while True:
            i += 1
            ember.save({"i": i, "w": ember.full((4_000_000,), float(i))}, path)
            print(i, flush=True)
    """)
    env = dict(os.environ, PYTHONPATH=REPO)
    caught = 0
    for attempt in range(5):
        proc = subprocess.Popen([sys.executable, "-c", child, str(path)], env=env,
                                stdout=subprocess.PIPE, text=True)
        try:
            assert proc.stdout.readline().strip() != ""      # one complete save exists
            deadline = time.monotonic() + 20
            while not _leftovers(tmp_path) and time.monotonic() < deadline:
                time.sleep(0.0005)
            proc.send_signal(signal.SIGKILL)
        finally:
            proc.kill()
            proc.wait()
            proc.stdout.close()
        ck = ember.load(path)               # the previous checkpoint is intact and complete
        w = ck["w"].numpy()
        assert w.shape == (4_000_000,) and ck["i"] >= 1 and (w == ck["i"]).all()
        if _leftovers(tmp_path):            # the kill landed mid-write (temp file not renamed)
            caught += 1
            for n in _leftovers(tmp_path):
                os.unlink(tmp_path / n)
            break
    assert caught, "the child was never killed during a write"


# ---- RNG state, plain pickling ---------------------------------------------------------------
def test_rng_state_roundtrip(tmp_path):
    ember.manual_seed(123)
    ember.randn(7)
    ember.save({"rng": ember.get_rng_state()}, tmp_path / "rng.pt")
    expected = ember.randn(5)
    ember.manual_seed(999)
    ember.set_rng_state(ember.load(tmp_path / "rng.pt")["rng"])
    assert ember.randn(5).tolist() == expected.tolist()


def test_plain_pickle_and_copy():
    a = ember.arange(12.).reshape(3, 4)
    v = a[:, 1]
    out = pickle.loads(pickle.dumps([a, v, a.t()]))
    assert out[0].tolist() == a.tolist() and out[1].tolist() == v.tolist()
    assert np.shares_memory(out[0].numpy(), out[1].numpy())
    assert np.shares_memory(out[0].numpy(), out[2].numpy())
    r = ember.ones(2).requires_grad_()
    assert pickle.loads(pickle.dumps(r)).requires_grad
    p = Parameter(ember.ones(2))
    p2 = pickle.loads(pickle.dumps(p))
    assert isinstance(p2, Parameter) and p2.requires_grad
    c = copy.copy(a)          # like torch: a shallow copy shares memory
    c.add_(1)
    assert a[0, 0].item() == 1
    d = copy.deepcopy(a)
    d.add_(1)
    assert a[0, 0].item() == 1 and d[0, 0].item() == 2
    big = ember.zeros(100_000)
    assert len(pickle.dumps(big[:3])) < 1000       # a small view does not drag its base along


def test_mutated_files_fail_cleanly():
    """Random byte edits, insertions and cuts of real torch files (zip, its pickle, legacy)
    either load or raise RuntimeError/UnpicklingError/NotImplementedError, never anything
    from deep inside."""
    import random
    rng = random.Random(1234)
    m = torch_model()
    obj = {"sd": m.state_dict(), "x": [1, "a", (2.5, None)], "v": torch.arange(10.)[2:5]}
    zbuf, lbuf = io.BytesIO(), io.BytesIO()
    torch.save(obj, zbuf)
    torch.save(obj, lbuf, _use_new_zipfile_serialization=False)
    zdata, ldata = zbuf.getvalue(), lbuf.getvalue()
    z = zipfile.ZipFile(io.BytesIO(zdata))
    pkl_name = next(n for n in z.namelist() if n.endswith("data.pkl"))

    def mutate(d):
        d = bytearray(d)
        for _ in range(rng.randint(1, 3)):
            pos, k = rng.randrange(len(d)), rng.random()
            if k < 0.6:
                d[pos] = rng.randrange(256)
            elif k < 0.8:
                del d[pos:pos + rng.randint(1, 8)]
            else:
                d[pos:pos] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 4)))
        return bytes(d)

    for it in range(240):
        if it % 3 == 0:
            f = zip_checkpoint(mutate(z.read(pkl_name)),
                               {n.split("/", 1)[1]: z.read(n) for n in z.namelist()
                                if "/data/" in n})
        else:
            f = mutate(zdata if it % 3 == 1 else ldata)
        try:
            ember.load(io.BytesIO(f))
        except (RuntimeError, pickle.UnpicklingError, NotImplementedError):
            pass


# ---- training state: optimizer, scheduler, RNG -----------------------------------------------
def _run_resumable(build, seed, steps, ckpt_in=None, ckpt_out=None):
    """Train ``steps`` steps of ``build()`` -> (state, set_state, batch_loss, opt, sched) on
    batches drawn from ember's RNG, optionally resuming from / saving a checkpoint of model,
    optimizer, scheduler and RNG state. Returns the losses, final arrays and last lr."""
    ember.manual_seed(seed)
    state, set_state, batch_loss, opt, sched = build()
    if ckpt_in is not None:
        ck = ember.load(ckpt_in)
        set_state(ck["model"])
        opt.load_state_dict(ck["opt"])
        sched.load_state_dict(ck["sched"])
        ember.set_rng_state(ck["rng"])
    losses = []
    for _ in range(steps):
        loss = batch_loss()
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        losses.append(loss.item())
    if ckpt_out is not None:
        ember.save({"model": state(), "opt": opt.state_dict(), "sched": sched.state_dict(),
                    "rng": ember.get_rng_state()}, ckpt_out)
    final = state()
    items = final.items() if isinstance(final, dict) else enumerate(final)
    return losses, {k: v.detach().numpy().copy() for k, v in items}, sched.get_last_lr()


def _mlp():
    """A tiny MLP of bare Parameters, Adam + StepLR, with a random dropout-style mask."""
    params = [Parameter(ember.randn(4, 8) * 0.5), Parameter(ember.zeros(8)),
              Parameter(ember.randn(8, 1) * 0.5)]
    opt = ember.optim.Adam(params, lr=0.01)
    sched = ember.optim.lr_scheduler.StepLR(opt, step_size=3, gamma=0.5)

    def set_state(saved):
        with ember.no_grad():
            for p, q in zip(params, saved):
                p.copy_(q)

    def batch_loss():
        x, y = ember.randn(16, 4), ember.randn(16, 1)
        mask = (ember.rand(16, 8) > 0.2).float()
        w1, b1, w2 = params
        return (((ember.tanh(x @ w1 + b1) * mask) @ w2 - y) ** 2).mean()
    return (lambda: params), set_state, batch_loss, opt, sched


def test_interrupted_training_resumes_bit_identically(tmp_path):
    full_losses, full_params, full_lr = _run_resumable(_mlp, 0, 10)
    first, _, _ = _run_resumable(_mlp, 0, 4, ckpt_out=tmp_path / "ck.pt")
    rest, params, lr = _run_resumable(_mlp, 77, 6, ckpt_in=tmp_path / "ck.pt")  # fresh objects
    assert first + rest == full_losses
    assert lr == full_lr
    for k in full_params:
        np.testing.assert_array_equal(params[k], full_params[k])
    # the training checkpoint is also a valid torch checkpoint
    t = torch.load(tmp_path / "ck.pt", weights_only=True)
    assert set(t["opt"]["state"]) == {0, 1, 2} and t["sched"]["last_epoch"] == 4


def _torch_opt(params):
    opt = torch.optim.Adam(params, lr=0.01)
    return opt, torch.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)


def _ember_opt(params):
    opt = ember.optim.Adam(params, lr=0.01)
    return opt, ember.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)


def _train(M, params, opt, sched, batches):
    for x, y in batches:
        w, b = params
        loss = ((M.from_numpy(x) @ w + b - M.from_numpy(y)) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()


def test_optimizer_state_crosses_frameworks(tmp_path):
    rng = np.random.default_rng(0)
    batches = [(rng.standard_normal((8, 3)).astype(np.float32),
                rng.standard_normal((8, 2)).astype(np.float32)) for _ in range(6)]
    w0 = rng.standard_normal((3, 2)).astype(np.float32)
    tparams = [torch.nn.Parameter(torch.from_numpy(w0.copy())), torch.nn.Parameter(torch.zeros(2))]
    topt, tsched = _torch_opt(tparams)
    _train(torch, tparams, topt, tsched, batches[:3])
    torch.save({"params": tparams, "opt": topt.state_dict(), "sched": tsched.state_dict()},
               tmp_path / "t.pt")
    ck = ember.load(tmp_path / "t.pt")                 # torch -> ember, resume there
    eparams = ck["params"]
    assert all(isinstance(p, Parameter) for p in eparams)
    eopt, esched = _ember_opt(eparams)
    eopt.load_state_dict(ck["opt"])
    esched.load_state_dict(ck["sched"])
    _train(torch, tparams, topt, tsched, batches[3:])
    _train(ember, eparams, eopt, esched, batches[3:])
    assert esched.get_last_lr() == tsched.get_last_lr()
    for e, t in zip(eparams, tparams):
        np.testing.assert_allclose(e.detach().numpy(), t.detach().numpy(), rtol=1e-6, atol=1e-7)
    ember.save({"params": eparams, "opt": eopt.state_dict(), "sched": esched.state_dict()},
               tmp_path / "e.pt")
    back = torch.load(tmp_path / "e.pt", weights_only=True)   # ember -> torch, resume there
    topt2, tsched2 = _torch_opt(back["params"])
    topt2.load_state_dict(back["opt"])
    tsched2.load_state_dict(back["sched"])
    assert topt2.state_dict()["state"][0]["step"].item() == 6
    _train(torch, back["params"], topt2, tsched2, batches[:2])
    _train(ember, eparams, eopt, esched, batches[:2])
    for e, t in zip(eparams, back["params"]):
        np.testing.assert_allclose(e.detach().numpy(), t.detach().numpy(), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("protocol", range(6))
def test_safe_unpickler_reads_plain_data_at_every_protocol(protocol):
    from ember import _weights_only_unpickler as wou
    shared = [1, 2]
    obj = {"ints": [0, 1, -1, 255, 256, 65535, 65536, -2 ** 31, 2 ** 31, 2 ** 100, -2 ** 70],
           "floats": [0.0, -1.5, 1e300, float("inf")], "s": ["", "a\nb", "ünï\u20ac", "x" * 300],
           "b": [b"", b"\x00\xff" * 200], "ba": bytearray(b"ab"), "c": 1 - 2j,
           "set": {1, "a"}, "fs": frozenset({2}), "od": OrderedDict(a=1, b=[2]),
           "t": (), "t1": (1,), "t3": (1, 2, 3), "t5": (1, 2, 3, 4, 5), "none": None,
           "bools": [True, False], "shared": [shared, shared], "nested": {(1, 2): {"k": []}}}
    out = wou.Unpickler(pickle.dumps(obj, protocol=protocol), allowed={}, callables=(),
                        persistent_load=None).load()
    assert out == obj
    assert out["shared"][0] is out["shared"][1]
    assert type(out["od"]) is OrderedDict and type(out["ba"]) is bytearray


# ---- real modules ----------------------------------------------------------------------------
def ember_model():
    nn = ember.nn
    return nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                         nn.Flatten(), nn.Linear(4 * 5 * 5, 6))


def test_torch_model_runs_in_ember_after_load(tmp_path):
    tm = torch_model()
    torch.save(tm.state_dict(), tmp_path / "t.pt")
    em = ember_model()
    em.load_state_dict(ember.load(tmp_path / "t.pt"))
    em.eval()
    x = np.random.default_rng(0).standard_normal((2, 3, 5, 5)).astype(np.float32)
    with torch.no_grad():
        expected = tm(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(em(ember.from_numpy(x)).detach().numpy(), expected,
                               rtol=1e-5, atol=1e-6)
    assert em[1].num_batches_tracked.item() == 3


def test_ember_model_runs_in_torch_after_load(tmp_path):
    ember.manual_seed(3)
    em = ember_model()
    em.train()
    for _ in range(2):
        em(ember.randn(4, 3, 5, 5))
    em.eval()
    ember.save(em.state_dict(), tmp_path / "e.pt")
    sd = torch.load(tmp_path / "e.pt", weights_only=True)
    assert sd["1.num_batches_tracked"].dtype == torch.int64 and sd["1.num_batches_tracked"] == 2
    tm = torch_model()
    tm.load_state_dict(sd)
    x = np.random.default_rng(1).standard_normal((2, 3, 5, 5)).astype(np.float32)
    with torch.no_grad():
        got = tm(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(got, em(ember.from_numpy(x)).detach().numpy(),
                               rtol=1e-5, atol=1e-6)
    again = ember_model()                     # and back into ember: identical outputs
    again.load_state_dict(ember.load(tmp_path / "e.pt"))
    again.eval()
    np.testing.assert_array_equal(again(ember.from_numpy(x)).detach().numpy(),
                                  em(ember.from_numpy(x)).detach().numpy())


def test_whole_module_needs_weights_only_false(tmp_path):
    em = ember_model()
    ember.save(em, tmp_path / "m.pt")
    with pytest.raises(pickle.UnpicklingError, match="ember.nn"):
        ember.load(tmp_path / "m.pt")
    back = ember.load(tmp_path / "m.pt", weights_only=False)
    assert type(back) is type(em)
    for (k, a), (_, b) in zip(em.state_dict().items(), back.state_dict().items()):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=k)
    # a whole torch model, pickled by torch, comes back as the matching ember modules
    tm = torch_model()
    torch.save(tm, tmp_path / "t.pt")
    with pytest.raises(pickle.UnpicklingError, match="torch.nn.modules"):
        ember.load(tmp_path / "t.pt")
    em2 = ember.load(tmp_path / "t.pt", weights_only=False)
    assert isinstance(em2[1], ember.nn.BatchNorm2d)
    x = np.random.default_rng(0).standard_normal((2, 3, 5, 5)).astype(np.float32)
    with torch.no_grad():
        expected = tm(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(em2(ember.from_numpy(x)).detach().numpy(), expected,
                               rtol=1e-5, atol=1e-6)


def _convnet():
    """Conv + BatchNorm (train mode) + Dropout + SGD with momentum + MultiStepLR."""
    nn = ember.nn
    model = nn.Sequential(nn.Conv2d(1, 3, 3), nn.BatchNorm2d(3), nn.ReLU(), nn.Dropout(0.3),
                          nn.Flatten(), nn.Linear(3 * 4 * 4, 2))
    opt = ember.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, nesterov=True,
                          weight_decay=1e-4)
    sched = ember.optim.lr_scheduler.MultiStepLR(opt, milestones=[2, 5], gamma=0.3)
    model.train()

    def batch_loss():
        x, y = ember.randn(8, 1, 6, 6), ember.randint(0, 2, (8,))
        return nn.functional.cross_entropy(model(x), y)
    return model.state_dict, model.load_state_dict, batch_loss, opt, sched


def test_interrupted_module_training_resumes_bit_identically(tmp_path):
    full, full_sd, _ = _run_resumable(_convnet, 0, 8)
    first, _, _ = _run_resumable(_convnet, 0, 3, ckpt_out=tmp_path / "ck.pt")
    rest, sd, _ = _run_resumable(_convnet, 5, 5, ckpt_in=tmp_path / "ck.pt")
    assert first + rest == full
    for k in full_sd:
        np.testing.assert_array_equal(sd[k], full_sd[k], err_msg=k)


def test_zip64_records_stay_aligned_and_readable(tmp_path, monkeypatch):
    """Checkpoints over 4 GiB need zip64 headers; shrink the limit to exercise that path."""
    monkeypatch.setattr(zipfile, "ZIP64_LIMIT", 1000)
    obj = {"big": ember.arange(2000, dtype=ember.float32), "small": ember.ones(3)}
    ember.save(obj, tmp_path / "z.pt")
    monkeypatch.undo()
    raw = (tmp_path / "z.pt").read_bytes()
    zip64_records = []
    with zipfile.ZipFile(tmp_path / "z.pt") as z:
        for info in z.infolist():
            h = info.header_offset
            n, x = struct.unpack("<HH", raw[h + 26:h + 30])
            assert (h + 30 + n + x) % 64 == 0
            extra, ids = raw[h + 30 + n:h + 30 + n + x], []
            while extra:
                tag, size = struct.unpack("<HH", extra[:4])
                ids.append(tag)
                extra = extra[4 + size:]
            if 0x0001 in ids:                     # the zip64 extended-information field
                zip64_records.append(info.filename)
    assert "archive/data/0" in zip64_records
    t = torch.load(tmp_path / "z.pt", weights_only=True)
    assert torch.equal(t["big"], torch.arange(2000, dtype=torch.float32))
    assert ember.load(tmp_path / "z.pt")["big"].tolist() == list(range(2000))


@pytest.mark.parametrize("protocol", [2, 3, 4, 5])
def test_pickle_protocols_both_ways(tmp_path, protocol):
    base = torch.arange(6.).reshape(2, 3)
    torch.save({"w": base, "v": base[:, 1], "d": torch.int8, "b": b"xy"}, tmp_path / "t.pt",
               pickle_protocol=protocol)
    e = ember.load(tmp_path / "t.pt")
    assert e["v"].tolist() == [1.0, 4.0] and e["d"] is ember.int8 and e["b"] == b"xy"
    assert np.shares_memory(e["w"].numpy(), e["v"].numpy())
    ember.save(e, tmp_path / "e.pt", pickle_protocol=protocol)
    assert ember.load(tmp_path / "e.pt")["v"].tolist() == [1.0, 4.0]
    if protocol == 2:     # torch's weights_only reader implements protocol 2's opcodes only
        assert torch.load(tmp_path / "e.pt", weights_only=True)["v"].tolist() == [1.0, 4.0]
    assert torch.load(tmp_path / "e.pt", weights_only=False)["v"].tolist() == [1.0, 4.0]
