"""A pickle interpreter that builds data, never runs code: ``ember.load(weights_only=True)``.

Python's own ``pickle.Unpickler`` can be told which globals it may import, but it still
calls whatever ends up on its stack (``REDUCE``), instantiates classes (``INST``/``OBJ``) and
sets attributes on any object (``BUILD``). This module reads the opcodes itself and gives
each one a narrow meaning:

* ``GLOBAL``/``STACK_GLOBAL`` resolve only names from an allow-list (the table the caller
  passes, a few harmless builtins, and what the user registered with
  :func:`add_safe_globals`); any other name raises :class:`pickle.UnpicklingError` naming
  it. Modules ``os``, ``sys``, ``posix``, ``nt`` are refused even if registered, as in torch.
* ``REDUCE``/``NEWOBJ`` call only objects the caller marked callable, or user-registered ones.
* ``BUILD`` sets state only on ``OrderedDict`` and user-registered types.
* ``INST``, ``OBJ``, ``EXT*`` and out-of-band buffers are refused outright.
* Persistent ids go to the caller's ``persistent_load``, which validates them.

Every malformed input (truncation, stack underflow, a missing memo entry, a bad argument to
an allowed callable) becomes an ``UnpicklingError`` that says where in the pickle it happened.
"""
from __future__ import annotations

import _compat_pickle
import codecs
import pickle
from collections import Counter, OrderedDict
from struct import unpack_from
from typing import Any, Callable, Iterable

UnpicklingError = pickle.UnpicklingError

_BLOCKED_MODULES = ("os", "sys", "posix", "nt")


class Unsupported:
    """An allow-listed name that ember knows but cannot load (a sparse tensor rebuild, a dtype
    NumPy lacks): resolving it raises ``NotImplementedError`` with ``message``."""

    __slots__ = ("message",)

    def __init__(self, message: str):
        self.message = message

    def fail(self):
        raise NotImplementedError(self.message)

# ---- the user's allow-list (``ember.serialization.add_safe_globals``) ------------------------
_user_safe: list = []


def add_safe_globals(safe_globals: "list[Callable | tuple[Callable, str]]") -> None:
    """Allow these functions/classes in ``weights_only`` loads.

    Each item is an object (matched by ``f"{obj.__module__}.{obj.__qualname__}"``) or a
    ``(obj, "module.name")`` pair for a name that differs from where the object lives now.
    Allowed classes may be instantiated and have their state set; allowed functions may be
    called with arguments from the file, so only allow what is safe for any input.
    """
    for item in safe_globals:
        _check_safe_item(item)
        if item not in _user_safe:
            _user_safe.append(item)


def get_safe_globals() -> list:
    """The user-added globals that ``weights_only`` loads accept."""
    return list(_user_safe)


def clear_safe_globals() -> None:
    """Forget every global added with :func:`add_safe_globals`."""
    _user_safe.clear()


def remove_safe_globals(items: Iterable) -> None:
    for item in items:
        if item in _user_safe:
            _user_safe.remove(item)


class safe_globals:
    """Context manager: ``with safe_globals([MyClass]): ember.load(...)``."""

    def __init__(self, safe_globals: list):
        self.safe_globals = list(safe_globals)
        self._added: list = []

    def __enter__(self):
        self._added = [g for g in self.safe_globals if g not in _user_safe]
        add_safe_globals(self._added)
        return self

    def __exit__(self, *exc):
        remove_safe_globals(self._added)
        return False


def _check_safe_item(item) -> None:
    if isinstance(item, tuple):
        if len(item) != 2:
            raise ValueError("Expected tuple of length 2 (global, str of callable full path), "
                             f"but got tuple of length: {len(item)}")
        if type(item[1]) is not str:
            raise TypeError("Expected second item in tuple to be str of callable full path, "
                            f"but got: {type(item[1])}")
    elif not hasattr(item, "__module__") or not hasattr(item, "__qualname__"):
        raise TypeError(f"add_safe_globals expects functions or classes, got {item!r}; pass "
                        "(obj, 'module.name') for objects without __module__/__qualname__")


def _user_allowed() -> dict:
    out = {}
    for item in _user_safe:
        if isinstance(item, tuple):
            out[item[1]] = item[0]
        else:
            out[f"{item.__module__}.{item.__qualname__}"] = item
    return out


# ---- harmless builtins that Python's pickler emits for plain data ----------------------------
def _codecs_encode(obj, encoding="utf-8", errors="strict"):
    """``_codecs.encode`` as protocol-2 pickles use it for bytes: str -> latin-1 bytes only."""
    if type(obj) is not str or encoding not in ("latin1", "latin-1") or errors != "strict":
        raise UnpicklingError("_codecs.encode is only allowed as encode(str, 'latin1') "
                              "(how protocol 2 stores bytes)")
    return obj.encode("latin-1")


def _bytes_ctor(*args):
    if args == ():
        return b""
    if len(args) in (1, 2) and type(args[0]) is bytes:
        return args[0]
    if len(args) == 2 and type(args[0]) is str and type(args[1]) is str:
        return _codecs_encode(args[0], args[1])
    raise UnpicklingError("builtins.bytes is only allowed with no arguments or bytes/str "
                          "data (an integer length could allocate unbounded memory)")


def _bytearray_ctor(*args):
    return bytearray(_bytes_ctor(*args))


def _complex_ctor(real=0, imag=0):
    for v in (real, imag):
        if type(v) not in (int, float, complex):
            raise UnpicklingError("builtins.complex is only allowed with numeric arguments")
    return complex(real, imag)


_BUILTIN_GLOBALS: dict[str, Any] = {
    "collections.OrderedDict": OrderedDict,
    "collections.Counter": Counter,
    "builtins.set": set,
    "builtins.frozenset": frozenset,
    "builtins.complex": _complex_ctor,
    "builtins.bytes": _bytes_ctor,
    "builtins.bytearray": _bytearray_ctor,
    "_codecs.encode": _codecs_encode,
}
_BUILTIN_CALLABLES = frozenset(id(v) for v in _BUILTIN_GLOBALS.values())
_SETITEM_TYPES = (dict, OrderedDict, Counter)


class Unpickler:
    """Interpret one pickle from ``data`` starting at ``pos``.

    ``allowed``: ``"module.name" -> object`` for names the caller supports (torch's rebuild
    functions, storage types, dtypes...). ``callables``: ids of those objects that REDUCE may
    call. ``persistent_load(pid)`` turns a persistent id into an object (or raises).
    """

    def __init__(self, data, *, allowed: dict, callables: Iterable[int],
                 persistent_load: Callable[[Any], Any], pos: int = 0, what: str = "data.pkl"):
        self._data = data if isinstance(data, bytes) else bytes(data)
        self._pos = pos
        self._allowed = allowed
        self._callable_ids = set(callables) | _BUILTIN_CALLABLES
        self._persistent_load = persistent_load
        self._what = what
        self._user = _user_allowed()
        self._user_ids = {id(v) for v in self._user.values()}
        self._user_types = tuple(v for v in self._user.values() if isinstance(v, type))

    @property
    def pos(self) -> int:
        return self._pos

    # ---- reading primitives ---------------------------------------------------------------
    def _read(self, n: int):
        p = self._pos
        end = p + n
        if n < 0 or end > len(self._data):
            raise UnpicklingError(f"{self._what}: pickle data was truncated (needed {n} bytes "
                                  f"at offset {p}, {len(self._data) - p} left)")
        self._pos = end
        return self._data[p:end]

    def _readline(self) -> bytes:
        p = self._pos
        end = self._data.find(b"\n", p)
        if end < 0:
            raise UnpicklingError(f"{self._what}: pickle data was truncated (unterminated line "
                                  f"at offset {p})")
        self._pos = end + 1
        return self._data[p:end]

    def _u(self, fmt: str, n: int):
        raw = self._read(n)
        return unpack_from(fmt, raw)[0]

    # ---- main loop --------------------------------------------------------------------------
    def load(self):
        self._stack: list = []
        self._metastack: list = []
        self._memo: dict = {}
        dispatch = _DISPATCH
        while True:
            start = self._pos
            op = self._read(1)[0]
            handler = dispatch.get(op)
            if handler is None:
                name = _OPNAMES.get(op)
                if name is None:
                    raise UnpicklingError(f"{self._what}: invalid pickle opcode {op:#04x} at "
                                          f"offset {start}: the data is corrupted or not a pickle")
                raise UnpicklingError(
                    f"{self._what}: pickle opcode {name} (offset {start}) is not allowed with "
                    "weights_only=True; it can construct arbitrary objects. Load with "
                    "weights_only=False only if you trust the file.")
            try:
                if handler(self) is _STOP:
                    if self._metastack:
                        raise UnpicklingError("unbalanced MARK")
                    return self._stack.pop()
            except UnpicklingError as e:
                if str(e).startswith(self._what):
                    raise
                raise UnpicklingError(f"{self._what}: {e} (opcode {_OPNAMES[op]} at offset "
                                      f"{start})") from e
            except (RuntimeError, NotImplementedError):
                raise
            except (IndexError, KeyError, ValueError, TypeError, AttributeError, OverflowError,
                    RecursionError, MemoryError, UnicodeDecodeError) as e:
                raise UnpicklingError(
                    f"{self._what}: malformed pickle at offset {start} (opcode "
                    f"{_OPNAMES[op]}): {type(e).__name__}: {e}") from e

    # ---- helpers ------------------------------------------------------------------------------
    def _pop_mark(self) -> list:
        items = self._stack
        if not self._metastack:
            raise UnpicklingError("MARK expected but not found (stack underflow)")
        self._stack = self._metastack.pop()
        return items

    def _resolve(self, module: str, name: str):
        module, name = python3_name(module, name)
        full = f"{module}.{name}"
        root = module.split(".")[0]
        if root in _BLOCKED_MODULES:
            raise UnpicklingError(
                f"Weights only load failed: the checkpoint references the global '{full}', "
                f"whose module '{root}' is blocked. This file tries to run code; do not load "
                "it unless you trust its source.")
        if full in self._allowed:
            obj = self._allowed[full]
            if isinstance(obj, Unsupported):
                obj.fail()
            return obj
        if full in self._user:
            return self._user[full]
        if full in _BUILTIN_GLOBALS:
            return _BUILTIN_GLOBALS[full]
        raise UnpicklingError(
            f"Weights only load failed: the checkpoint references the global '{full}', which "
            "is not allowed with weights_only=True. If you trust this file and that object is "
            "safe to create or call with any arguments, allow it with "
            "ember.serialization.add_safe_globals([...]) or the safe_globals context manager; "
            "weights_only=False would run arbitrary code from the file.")

    def _may_call(self, func) -> bool:
        i = id(func)
        return i in self._callable_ids or i in self._user_ids

    def _call(self, func, args, kwargs=None):
        if not self._may_call(func):
            raise UnpicklingError(f"calling {_describe(func)} is not allowed with "
                                  "weights_only=True")
        if type(args) is not tuple:
            raise UnpicklingError(f"arguments for {_describe(func)} must be a tuple, got "
                                  f"{type(args).__name__}")
        try:
            return func(*args, **(kwargs or {}))
        except (UnpicklingError, RuntimeError, NotImplementedError):
            raise
        except Exception as e:
            raise UnpicklingError(f"{_describe(func)} failed on the arguments stored in the "
                                  f"file: {type(e).__name__}: {e}") from e

    def _newobj(self, cls, args, kwargs=None):
        if not isinstance(cls, type) or not (id(cls) in self._user_ids
                                             or cls in (set, frozenset, OrderedDict, Counter)):
            raise UnpicklingError(f"creating {_describe(cls)} (NEWOBJ) is not allowed with "
                                  "weights_only=True")
        if type(args) is not tuple:
            raise UnpicklingError("NEWOBJ arguments must be a tuple")
        return cls.__new__(cls, *args, **(kwargs or {}))

    def _build(self, inst, state):
        if type(inst) is OrderedDict:
            if state is None:
                return
            if type(state) is not dict or not all(type(k) is str for k in state):
                raise UnpicklingError("OrderedDict state must be a dict with str keys")
            inst.__dict__.update(state)
            return
        if self._user_types and type(inst) in self._user_types:
            setstate = getattr(inst, "__setstate__", None)
            if setstate is not None:
                setstate(state)
                return
            slotstate = None
            if isinstance(state, tuple) and len(state) == 2:
                state, slotstate = state
            if state:
                inst.__dict__.update(state)
            if slotstate:
                for k, v in slotstate.items():
                    setattr(inst, k, v)
            return
        raise UnpicklingError(
            f"setting state (BUILD) on {type(inst).__module__}.{type(inst).__qualname__} is "
            "not allowed with weights_only=True; only OrderedDict and types registered with "
            "add_safe_globals")


def python3_name(module: str, name: str) -> tuple:
    """Undo the Python 2 names that protocol 0-2 pickles use (``__builtin__.set``,
    ``commands.Popen``), as Python's own unpickler does."""
    if (module, name) in _compat_pickle.NAME_MAPPING:
        return _compat_pickle.NAME_MAPPING[(module, name)]
    return _compat_pickle.IMPORT_MAPPING.get(module, module), name


def _describe(obj) -> str:
    mod = getattr(obj, "__module__", None)
    name = getattr(obj, "__qualname__", None) or getattr(obj, "__name__", None)
    if mod and name:
        return f"{mod}.{name}"
    return f"object of type {type(obj).__name__}"


_STOP = object()
_OPNAMES = {op.code.encode("latin-1")[0]: op.name for op in __import__("pickletools").opcodes}
_DISPATCH: dict = {}


def _op(code: bytes):
    def deco(fn):
        _DISPATCH[code[0]] = fn
        return fn
    return deco


# ---- framing and control ---------------------------------------------------------------------
@_op(pickle.PROTO)
def _proto(u):
    p = u._read(1)[0]
    if p > 5:
        raise UnpicklingError(f"unsupported pickle protocol: {p}")


@_op(pickle.FRAME)
def _frame(u):
    u._read(8)


@_op(pickle.STOP)
def _stop(u):
    return _STOP


@_op(pickle.MARK)
def _mark(u):
    u._metastack.append(u._stack)
    u._stack = []


@_op(pickle.POP)
def _pop(u):
    if u._stack:
        u._stack.pop()
    else:
        u._pop_mark()


@_op(pickle.POP_MARK)
def _pop_mark(u):
    u._pop_mark()


@_op(pickle.DUP)
def _dup(u):
    u._stack.append(u._stack[-1])


# ---- constants and numbers -------------------------------------------------------------------
@_op(pickle.NONE)
def _none(u):
    u._stack.append(None)


@_op(pickle.NEWTRUE)
def _true(u):
    u._stack.append(True)


@_op(pickle.NEWFALSE)
def _false(u):
    u._stack.append(False)


@_op(pickle.INT)
def _int(u):
    line = u._readline()
    if line == b"00":
        u._stack.append(False)
    elif line == b"01":
        u._stack.append(True)
    else:
        u._stack.append(int(line, 0))


@_op(pickle.BININT)
def _binint(u):
    u._stack.append(u._u("<i", 4))


@_op(pickle.BININT1)
def _binint1(u):
    u._stack.append(u._read(1)[0])


@_op(pickle.BININT2)
def _binint2(u):
    u._stack.append(u._u("<H", 2))


@_op(pickle.LONG)
def _long(u):
    line = u._readline()
    if line.endswith(b"L"):
        line = line[:-1]
    u._stack.append(int(line, 0))


@_op(pickle.FLOAT)
def _float(u):
    u._stack.append(float(u._readline()))


@_op(pickle.BINFLOAT)
def _binfloat(u):
    u._stack.append(u._u(">d", 8))


# ---- strings and bytes -----------------------------------------------------------------------
def _py2_str(raw) -> str:
    raw = bytes(raw)
    try:
        return raw.decode("ascii")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


@_op(pickle.STRING)
def _string(u):
    line = u._readline()
    if len(line) >= 2 and line[0] == line[-1] and line[:1] in (b'"', b"'"):
        line = line[1:-1]
    else:
        raise UnpicklingError("the STRING opcode argument must be quoted")
    u._stack.append(_py2_str(codecs.escape_decode(line)[0]))


@_op(pickle.UNICODE)
def _unicode(u):
    u._stack.append(str(u._readline(), "raw-unicode-escape"))


def _utf8(raw) -> str:
    return str(raw, "utf-8", "surrogatepass")


def _decode_long(raw) -> int:
    return pickle.decode_long(bytes(raw))


def _sized(fmt: str, convert):
    """A handler for an opcode whose argument is a length (struct ``fmt``) then that many
    bytes, pushed through ``convert``."""
    size = {"<B": 1, "<i": 4, "<I": 4, "<Q": 8}[fmt]

    def handler(u):
        n = u._u(fmt, size)
        if n < 0:
            raise UnpicklingError(f"negative length {n}")
        u._stack.append(convert(u._read(n)))
    return handler


for _code, _fmt, _convert in (
        (pickle.BINSTRING, "<i", _py2_str), (pickle.SHORT_BINSTRING, "<B", _py2_str),
        (pickle.BINUNICODE, "<I", _utf8), (pickle.SHORT_BINUNICODE, "<B", _utf8),
        (pickle.BINUNICODE8, "<Q", _utf8), (pickle.BINBYTES, "<I", bytes),
        (pickle.SHORT_BINBYTES, "<B", bytes), (pickle.BINBYTES8, "<Q", bytes),
        (pickle.BYTEARRAY8, "<Q", bytearray), (pickle.LONG1, "<B", _decode_long),
        (pickle.LONG4, "<i", _decode_long)):
    _DISPATCH[_code[0]] = _sized(_fmt, _convert)


# ---- containers ------------------------------------------------------------------------------
@_op(pickle.EMPTY_TUPLE)
def _empty_tuple(u):
    u._stack.append(())


@_op(pickle.TUPLE)
def _tuple(u):
    items = u._pop_mark()
    u._stack.append(tuple(items))


@_op(pickle.TUPLE1)
def _tuple1(u):
    u._stack[-1] = (u._stack[-1],)


@_op(pickle.TUPLE2)
def _tuple2(u):
    b = u._stack.pop()
    u._stack[-1] = (u._stack[-1], b)


@_op(pickle.TUPLE3)
def _tuple3(u):
    c = u._stack.pop()
    b = u._stack.pop()
    u._stack[-1] = (u._stack[-1], b, c)


@_op(pickle.EMPTY_LIST)
def _empty_list(u):
    u._stack.append([])


@_op(pickle.LIST)
def _list(u):
    items = u._pop_mark()
    u._stack.append(items)


def _target(u, what: str, types: tuple, names: str):
    """The container on top of the stack, if ``what`` may fill it: one of ``types`` or a
    type registered with add_safe_globals."""
    target = u._stack[-1]
    if type(target) in types or (u._user_types and type(target) in u._user_types):
        return target
    raise UnpicklingError(f"{what} only applies to {names} (or types registered with "
                          f"add_safe_globals), but got {type(target).__name__}")


def _list_target(u, what):
    return _target(u, what, (list,), "lists")


@_op(pickle.APPEND)
def _append(u):
    item = u._stack.pop()
    _list_target(u, "APPEND").append(item)


@_op(pickle.APPENDS)
def _appends(u):
    items = u._pop_mark()
    target = _list_target(u, "APPENDS")
    if type(target) is list:
        target.extend(items)
    else:
        for it in items:
            target.append(it)


@_op(pickle.EMPTY_DICT)
def _empty_dict(u):
    u._stack.append({})


@_op(pickle.DICT)
def _dict(u):
    items = u._pop_mark()
    if len(items) % 2:
        raise UnpicklingError("odd number of items for DICT")
    u._stack.append({items[i]: items[i + 1] for i in range(0, len(items), 2)})


def _dict_target(u, what):
    return _target(u, what, _SETITEM_TYPES, "dict, OrderedDict or Counter")


@_op(pickle.SETITEM)
def _setitem(u):
    v = u._stack.pop()
    k = u._stack.pop()
    _dict_target(u, "SETITEM")[k] = v


@_op(pickle.SETITEMS)
def _setitems(u):
    items = u._pop_mark()
    if len(items) % 2:
        raise UnpicklingError("odd number of items for SETITEMS")
    target = _dict_target(u, "SETITEMS")
    for i in range(0, len(items), 2):
        target[items[i]] = items[i + 1]


@_op(pickle.EMPTY_SET)
def _empty_set(u):
    u._stack.append(set())


@_op(pickle.ADDITEMS)
def _additems(u):
    items = u._pop_mark()
    target = _target(u, "ADDITEMS", (set,), "sets")
    for it in items:
        target.add(it)


@_op(pickle.FROZENSET)
def _frozenset(u):
    items = u._pop_mark()
    u._stack.append(frozenset(items))


# ---- memo ------------------------------------------------------------------------------------
def _get(u, idx):
    try:
        u._stack.append(u._memo[idx])
    except KeyError:
        raise UnpicklingError(f"memo key {idx} not found (reference to an object that was "
                              "never stored)") from None


def _memo_op(fmt: "str | None", put: bool):
    """GET/PUT in their text (``fmt`` None), 1-byte and 4-byte forms."""
    def handler(u):
        idx = int(u._readline()) if fmt is None else u._u(fmt, 1 if fmt == "<B" else 4)
        if put:
            if idx < 0:
                raise UnpicklingError("negative PUT argument")
            u._memo[idx] = u._stack[-1]
        else:
            try:
                u._stack.append(u._memo[idx])
            except KeyError:
                raise UnpicklingError(f"memo key {idx} not found (reference to an object "
                                      "that was never stored)") from None
    return handler


for _code, _fmt, _put in ((pickle.GET, None, False), (pickle.BINGET, "<B", False),
                          (pickle.LONG_BINGET, "<I", False), (pickle.PUT, None, True),
                          (pickle.BINPUT, "<B", True), (pickle.LONG_BINPUT, "<I", True)):
    _DISPATCH[_code[0]] = _memo_op(_fmt, _put)


@_op(pickle.MEMOIZE)
def _memoize(u):
    u._memo[len(u._memo)] = u._stack[-1]


# ---- globals, calls, state -------------------------------------------------------------------
@_op(pickle.GLOBAL)
def _global(u):
    module = u._readline().decode("utf-8")
    name = u._readline().decode("utf-8")
    u._stack.append(u._resolve(module, name))


@_op(pickle.STACK_GLOBAL)
def _stack_global(u):
    name = u._stack.pop()
    module = u._stack.pop()
    if type(name) is not str or type(module) is not str:
        raise UnpicklingError("STACK_GLOBAL requires str module and name")
    u._stack.append(u._resolve(module, name))


@_op(pickle.REDUCE)
def _reduce(u):
    args = u._stack.pop()
    func = u._stack[-1]
    u._stack[-1] = u._call(func, args)


@_op(pickle.NEWOBJ)
def _newobj(u):
    args = u._stack.pop()
    cls = u._stack[-1]
    u._stack[-1] = u._newobj(cls, args)


@_op(pickle.NEWOBJ_EX)
def _newobj_ex(u):
    kwargs = u._stack.pop()
    args = u._stack.pop()
    cls = u._stack[-1]
    if type(kwargs) is not dict:
        raise UnpicklingError("NEWOBJ_EX keyword arguments must be a dict")
    u._stack[-1] = u._newobj(cls, args, kwargs)


@_op(pickle.BUILD)
def _build(u):
    state = u._stack.pop()
    u._build(u._stack[-1], state)


@_op(pickle.BINPERSID)
def _binpersid(u):
    pid = u._stack.pop()
    u._stack.append(u._persistent_load(pid))


@_op(pickle.PERSID)
def _persid(u):
    u._stack.append(u._persistent_load(u._readline().decode("ascii")))
