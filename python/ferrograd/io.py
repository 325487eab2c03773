"""Saving and loading: safetensors files, written atomically.

`fg.save(obj, path)` writes a state dict (name -> tensor) as a plain safetensors file that
`safetensors.numpy.load_file` and PyTorch's safetensors loader read under the same names. Nested
objects (an optimizer's state, a whole training checkpoint) are flattened: arrays become tensors
named by their path, everything else goes, as JSON, into the file's metadata.
"""

from __future__ import annotations

import json
import os
import tempfile

import numpy as np
import safetensors.numpy

from .device import device
from .tensor import Tensor
from .wgpu.array import GpuArray

TREE_KEY = "ferrograd.tree"


# ---- nested objects <-> flat tensors + JSON skeleton --------------------------------------------
def _flatten(obj, path: str, tensors: dict):
    """A JSON skeleton of `obj`; arrays are moved into `tensors` under their dotted path."""
    if isinstance(obj, Tensor):
        obj = obj._data
    if isinstance(obj, GpuArray):
        obj = obj.numpy()  # saving reads device tensors back; they load as cpu tensors
    if isinstance(obj, np.ndarray):
        name = path or "tensor"
        if name in tensors:
            raise ValueError(f"save: two entries flatten to the same tensor name {name!r}")
        tensors[name] = np.ascontiguousarray(obj).reshape(obj.shape)  # ascontiguousarray makes 0-d 1-d
        return {"__tensor__": name}
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, dict):
        items = []
        for k, v in obj.items():
            if not isinstance(k, (str, int)):
                raise TypeError(f"save: dict keys must be str or int, got {type(k).__name__} at {path or 'top level'}")
            items.append([k, _flatten(v, f"{path}.{k}" if path else str(k), tensors)])
        return {"__dict__": items}
    if isinstance(obj, (list, tuple)):
        tag = "__tuple__" if isinstance(obj, tuple) else "__list__"
        return {tag: [_flatten(v, f"{path}.{i}" if path else str(i), tensors) for i, v in enumerate(obj)]}
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    raise TypeError(f"save: cannot store a {type(obj).__name__} at {path or 'top level'}")


def _unflatten(skeleton, tensors: dict):
    if isinstance(skeleton, dict):
        if "__tensor__" in skeleton:
            return Tensor(tensors[skeleton["__tensor__"]])
        if "__dict__" in skeleton:
            return {k: _unflatten(v, tensors) for k, v in skeleton["__dict__"]}
        if "__list__" in skeleton:
            return [_unflatten(v, tensors) for v in skeleton["__list__"]]
        if "__tuple__" in skeleton:
            return tuple(_unflatten(v, tensors) for v in skeleton["__tuple__"])
    return skeleton


# ---- files ------------------------------------------------------------------------------------
def _write_atomically(path: str, payload: bytes) -> None:
    """Temporary file in the same folder, fsync, rename: a crash leaves the old file or the new
    one under `path`, never a torn one."""
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".safetensors", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(payload)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    dir_fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(dir_fd)  # make the rename itself durable
    finally:
        os.close(dir_fd)


def save(obj, path, metadata: dict | None = None) -> None:
    """Write a state dict, or any nest of dicts/lists/tensors/numbers/strings, to `path`."""
    path = os.fspath(path)
    tensors: dict = {}
    skeleton = _flatten(obj, "", tensors)
    meta = {str(k): str(v) for k, v in (metadata or {}).items()}
    meta["format"] = "pt"  # what PyTorch's safetensors loader expects to find
    meta[TREE_KEY] = json.dumps(skeleton)
    _write_atomically(path, safetensors.numpy.save(tensors, metadata=meta))


def read_metadata(path) -> dict:
    """The user metadata stored by `save` (without ferrograd's own keys)."""
    _, meta = _read(os.fspath(path))
    return {k: v for k, v in meta.items() if k not in (TREE_KEY, "format")}


def _read(path: str):
    if not os.path.exists(path):
        raise FileNotFoundError(f"load: no such file: {path}")
    with open(path, "rb") as f:
        payload = f.read()
    try:
        tensors = safetensors.numpy.load(payload)
        # Header: 8-byte little-endian length, then JSON whose "__metadata__" holds the strings.
        header_len = int.from_bytes(payload[:8], "little")
        meta = json.loads(payload[8 : 8 + header_len]).get("__metadata__") or {}
    except Exception as e:  # the format's own errors: truncated, bad header, bad offsets
        raise ValueError(f"load: {path} is not a readable safetensors file ({len(payload)} bytes): {e}") from None
    return tensors, meta


def load(path, map_location=None, weights_only=None, **kwargs):
    """Read what `save` wrote; a safetensors file from elsewhere loads as a dict of tensors.
    `map_location` ("cpu", "wgpu", a device, or a dict/callable as torch takes) places the tensors;
    `weights_only` is accepted for torch's signature (this format holds only tensors and plain data)."""
    path = os.fspath(path)
    out = _load(path)
    target = _map_target(map_location)
    return out if target is None else _move_tree(out, target)


def _map_target(map_location):
    """None (leave tensors on the cpu), a callable (torch's `fn(storage, location)`), or a device name."""
    if map_location is None:
        return None
    if isinstance(map_location, dict):  # {saved location: target}: every tensor here was saved from cpu
        map_location = map_location.get("cpu", next(iter(map_location.values()), None))
        if map_location is None:
            return None
    if callable(map_location) and not isinstance(map_location, (str, device)):
        return map_location
    return str(device(map_location))  # an unknown device raises ValueError naming it


def _move_tree(obj, target):
    if isinstance(obj, Tensor):
        if callable(target):
            moved = target(obj, "cpu")
            return obj if moved is None else moved
        dev = "wgpu" if target == "wgpu" else "cpu"
        return obj if obj.device == dev else obj.to(dev)
    if isinstance(obj, dict):
        return type(obj)((k, _move_tree(v, target)) for k, v in obj.items())
    if isinstance(obj, (list, tuple)):
        return type(obj)(_move_tree(v, target) for v in obj)
    return obj


def _load(path):
    tensors, meta = _read(path)
    if TREE_KEY not in meta:
        return {k: Tensor(v) for k, v in tensors.items()}
    try:
        skeleton = json.loads(meta[TREE_KEY])
        return _unflatten(skeleton, tensors)
    except (ValueError, KeyError, TypeError) as e:
        raise ValueError(f"load: {path} has a damaged ferrograd structure record: {e}") from None
