"""Saving and loading: safetensors files, written atomically and verified on load.

`fg.save(obj, path)` writes a state dict (name -> tensor) as a plain safetensors file that
`safetensors.numpy.load_file` and PyTorch's safetensors loader read under the same names. Nested
objects (an optimizer's state, a whole training checkpoint) are flattened: arrays become tensors
named by their path, everything else goes, as JSON, into the file's metadata.

Every file ferrograd writes carries checksums in its metadata (see `_seal`): one per tensor (its
name, dtype, shape and bytes), one per metadata entry, and one over all of them. `load` verifies
them and names the file and the damaged tensor or metadata key; a safetensors file written by
another tool (no checksums) loads as a plain dict of tensors.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import socket
import threading
import time
import warnings

import numpy as np
import safetensors.numpy

from .device import device
from .tensor import Tensor
from .wgpu.array import GpuArray

TREE_KEY = "ferrograd.tree"  # JSON skeleton of the saved object (see _flatten)
SUMS_KEY = "ferrograd.checksums"  # {"tensors": {name: digest}, "metadata": {key: digest}}
DIGEST_KEY = "ferrograd.sha256"  # sha256 over every other metadata entry, SUMS_KEY included
_OWN_KEYS = (TREE_KEY, SUMS_KEY, DIGEST_KEY)
_TAGS = ("__tensor__", "__dict__", "__list__", "__tuple__")


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
        array = np.ascontiguousarray(obj).reshape(obj.shape)  # ascontiguousarray makes 0-d 1-d
        if array.dtype.byteorder == ">":  # safetensors is little-endian; the checksum hashes those bytes
            array = array.astype(array.dtype.newbyteorder("<"))
        tensors[name] = array
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


def _unflatten(skeleton, tensors: dict, where: str = "top level"):
    """Rebuild what _flatten recorded. Every dict in a skeleton is one of the four tagged forms,
    so anything else is a damaged record (a flipped byte once turned '__tuple__' into
    '_dtuple__', and the betas came back as a dict)."""
    if isinstance(skeleton, list) or (isinstance(skeleton, dict) and (len(skeleton) != 1 or set(skeleton) - set(_TAGS))):
        raise ValueError(f"unexpected entry {str(skeleton)[:80]!r} at {where}")
    if not isinstance(skeleton, dict):
        return skeleton
    (tag, body), = skeleton.items()
    if tag == "__tensor__":
        if body not in tensors:
            raise ValueError(f"tensor {body!r} (at {where}) is not in the file")
        return Tensor(tensors[body])
    if not isinstance(body, list):
        raise ValueError(f"{tag} at {where} holds a {type(body).__name__}, expected a list")
    if tag == "__dict__":
        out = {}
        for item in body:
            if not (isinstance(item, list) and len(item) == 2 and isinstance(item[0], (str, int))):
                raise ValueError(f"bad dict item {str(item)[:80]!r} at {where}")
            k, v = item
            out[k] = _unflatten(v, tensors, f"{where}.{k}" if where != "top level" else str(k))
        return out
    items = [_unflatten(v, tensors, f"{where}.{i}" if where != "top level" else str(i)) for i, v in enumerate(body)]
    return items if tag == "__list__" else tuple(items)


# ---- checksums --------------------------------------------------------------------------------
def _tensor_digest(name: str, array: np.ndarray) -> str:
    h = hashlib.sha256()
    h.update(f"{name}\0{array.dtype.name}\0{tuple(array.shape)}\0".encode())
    h.update(np.ascontiguousarray(array).reshape(-1).view(np.uint8).data)
    return h.hexdigest()[:32]  # 128 bits: enough to catch damage, keeps the header small


def _entry_digest(key: str, value: str) -> str:
    return hashlib.sha256(f"{key}\0{value}".encode()).hexdigest()[:32]


def _meta_digest(meta: dict) -> str:
    rest = {k: v for k, v in meta.items() if k != DIGEST_KEY}
    return hashlib.sha256(json.dumps(rest, sort_keys=True).encode()).hexdigest()


def _seal(meta: dict, tensors: dict) -> None:
    """Add the checksum entries to `meta` (in place)."""
    sums = {
        "tensors": {name: _tensor_digest(name, a) for name, a in tensors.items()},
        "metadata": {k: _entry_digest(k, v) for k, v in meta.items()},
    }
    meta[SUMS_KEY] = json.dumps(sums, sort_keys=True)
    meta[DIGEST_KEY] = _meta_digest(meta)


def _near(key: str, name: str) -> bool:
    """`key` equals `name` or differs in one character: a flipped byte in one of our own key
    names must not make a ferrograd file pass as a foreign (unverified) one."""
    return len(key) == len(name) and sum(a != b for a, b in zip(key, name)) <= 1


def _verify(path: str, tensors: dict, meta: dict) -> None:
    """Raise ValueError naming the file and the damaged tensor or key if the checksums fail.
    Files with none of ferrograd's keys are foreign and pass unverified."""
    ours = {own for own in _OWN_KEYS for k in meta if _near(k, own)}
    if not ours:
        return  # written by another tool: nothing to verify against
    if ours == {TREE_KEY} and TREE_KEY in meta:
        warnings.warn(f"load: {path} was written by an older ferrograd without checksums; it loads unverified",
                      stacklevel=4)
        return
    for key in (SUMS_KEY, DIGEST_KEY):
        if key not in meta:
            raise ValueError(f"load: {path} is damaged: its checksum entry {key!r} is missing "
                             f"(metadata keys: {sorted(meta)})")
    try:
        sums = json.loads(meta[SUMS_KEY])
        tensor_sums, meta_sums = sums["tensors"], sums["metadata"]
        if not (isinstance(tensor_sums, dict) and isinstance(meta_sums, dict)):
            raise TypeError("not a pair of dicts")
    except (ValueError, KeyError, TypeError) as e:
        raise ValueError(f"load: {path} is damaged: its checksum record {SUMS_KEY!r} is unreadable ({e})") from None
    if _meta_digest(meta) != meta[DIGEST_KEY]:
        # The record or some metadata entry changed: name the entry when the record still vouches for it.
        for key in sorted(set(meta) | set(meta_sums)):
            if key in (SUMS_KEY, DIGEST_KEY):
                continue
            if key not in meta:
                raise ValueError(f"load: {path} is damaged: metadata key {key!r} is missing")
            if key not in meta_sums or meta_sums[key] != _entry_digest(key, meta[key]):
                raise ValueError(f"load: {path} is damaged: metadata key {key!r} fails its checksum")
        raise ValueError(f"load: {path} is damaged: metadata key {DIGEST_KEY!r} or {SUMS_KEY!r} "
                         "fails its checksum")
    for name in sorted(set(tensors) | set(tensor_sums), key=str):
        if name not in tensors:
            raise ValueError(f"load: {path} is damaged: tensor {name!r} is missing")
        if name not in tensor_sums:
            raise ValueError(f"load: {path} is damaged: tensor {name!r} has no checksum (was it added later?)")
        if _tensor_digest(name, tensors[name]) != tensor_sums[name]:
            a = tensors[name]
            raise ValueError(f"load: {path} is damaged: tensor {name!r} (as read: {a.dtype}, shape "
                             f"{tuple(a.shape)}) fails its checksum: its bytes, dtype or shape changed after saving")


# ---- files ------------------------------------------------------------------------------------
# Temporary files are named `.{target}.tmp-{host}-{pid}-{random}`, so that the next save of the
# same target can tell which ones a killed writer left behind and remove them.
_HOST = hashlib.sha256(socket.gethostname().encode()).hexdigest()[:8]
_TMP_REST = re.compile(r"([0-9a-f]{8})-(\d+)-[0-9a-f]{8}")
_STALE_AFTER_S = 3600.0  # a temp from another host (or a reused pid) untouched this long is dead
_active_temps: set = set()  # this process's temps being written now (threads may save the same target)
_active_lock = threading.Lock()


def _tmp_prefix(path: str) -> str:
    folder, name = os.path.split(os.path.abspath(path))
    return os.path.join(folder, f".{name[:200]}.tmp-")


def _pid_alive(pid: int) -> bool:
    if os.name == "nt":
        return True  # no cheap check: such temps go by age only
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # PermissionError: someone else's live process
        return True
    try:  # a killed child not yet reaped is a zombie: dead for our purpose
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[-1].split()[0] not in (b"Z", b"X")
    except (OSError, IndexError):
        return True


def _remove_stale_temps(path: str) -> None:
    """Delete temps of `path` whose writer is gone: same host and the process has exited (or is
    this process, which is not writing it), or untouched for an hour."""
    prefix = _tmp_prefix(path)
    folder, start = os.path.split(prefix)
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return
    now = time.time()
    for entry in entries:
        m = _TMP_REST.fullmatch(entry.name[len(start):]) if entry.name.startswith(start) else None
        if m is None:
            continue
        full = os.path.join(folder, entry.name)
        with _active_lock:
            if full in _active_temps:
                continue
        host, pid = m.group(1), int(m.group(2))
        stale = host == _HOST and (pid == os.getpid() or not _pid_alive(pid))
        try:
            stale = stale or now - entry.stat().st_mtime > _STALE_AFTER_S
            if stale:
                os.unlink(full)
        except OSError:
            pass  # gone already, or not ours to delete: never fail a save over cleanup


def _write_atomically(path: str, payload: bytes) -> None:
    """Temporary file in the same folder, fsync, rename: a crash leaves the old file or the new
    one under `path`, never a torn one; stale temps of earlier killed saves are removed first."""
    _remove_stale_temps(path)
    folder = os.path.dirname(os.path.abspath(path))
    tmp = f"{_tmp_prefix(path)}{_HOST}-{os.getpid()}-{secrets.token_hex(4)}"
    with _active_lock:
        _active_temps.add(tmp)
    try:
        # 0o666 and the umask, as an ordinary file (mkstemp's 0600 would stick to the checkpoint)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
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
    finally:
        with _active_lock:
            _active_temps.discard(tmp)
    if os.name != "nt":
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
    reserved = [k for k in meta if k.startswith("ferrograd.")]
    if reserved:
        raise ValueError(f"save: metadata keys starting with 'ferrograd.' are reserved, got {reserved}")
    meta["format"] = "pt"  # what PyTorch's safetensors loader expects to find
    meta[TREE_KEY] = json.dumps(skeleton)
    _seal(meta, tensors)
    _write_atomically(path, safetensors.numpy.save(tensors, metadata=meta))


def read_metadata(path) -> dict:
    """The user metadata stored by `save` (without ferrograd's own keys), verified."""
    path = os.fspath(path)
    tensors, meta = _read(path)
    _verify(path, tensors, meta)
    return {k: v for k, v in meta.items() if k not in _OWN_KEYS and k != "format"}


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
        if not isinstance(meta, dict) or not all(isinstance(v, str) for v in meta.values()):
            raise ValueError("__metadata__ is not a dict of strings")
    except Exception as e:  # the format's own errors: truncated, bad header, bad offsets
        raise ValueError(f"load: {path} is not a readable safetensors file ({len(payload)} bytes): {e}") from None
    return tensors, meta


def load(path, map_location=None, weights_only=None, **kwargs):
    """Read what `save` wrote, after verifying its checksums; a safetensors file from elsewhere
    loads as a dict of tensors. `map_location` ("cpu", "wgpu", a device, or a dict/callable as
    torch takes) places the tensors; `weights_only` is accepted for torch's signature (this format
    holds only tensors and plain data)."""
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
    _verify(path, tensors, meta)
    if TREE_KEY not in meta:
        return {k: Tensor(v) for k, v in tensors.items()}
    try:
        skeleton = json.loads(meta[TREE_KEY])
        return _unflatten(skeleton, tensors)
    except (ValueError, KeyError, TypeError) as e:
        raise ValueError(f"load: {path} has a damaged ferrograd structure record: {e}") from None
