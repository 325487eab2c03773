"""Read PyTorch's checkpoint format (`torch.save`: a zip of a pickle plus one file per storage)
into numpy arrays, without importing torch.

Only what a state dict holds is rebuilt: tensors, parameters, (ordered) dicts, lists, tuples,
numbers and strings. Any other class named by the pickle is refused, so loading a file can never
run code from it (the `weights_only=True` contract of torch.load)."""

from __future__ import annotations

import collections
import pickle
import zipfile

import numpy as np

# torch storage class names → numpy dtypes (bfloat16 is widened to float32 below)
_STORAGE_DTYPES = {
    "FloatStorage": np.float32, "DoubleStorage": np.float64, "HalfStorage": np.float16,
    "BFloat16Storage": "bfloat16", "LongStorage": np.int64, "IntStorage": np.int32,
    "ShortStorage": np.int16, "CharStorage": np.int8, "ByteStorage": np.uint8, "BoolStorage": np.bool_,
}


class _StorageType:
    def __init__(self, dtype):
        self.dtype = dtype


def _rebuild_tensor(storage, offset, size, stride, *_ignored):
    itemsize = storage.dtype.itemsize
    if not size:
        return storage[offset:offset + 1].reshape(()).copy()
    if any(s == 0 for s in size):
        return np.zeros(size, storage.dtype)
    view = np.lib.stride_tricks.as_strided(storage[offset:], shape=tuple(size),
                                           strides=tuple(s * itemsize for s in stride))
    return np.ascontiguousarray(view)


def _rebuild_parameter(data, requires_grad=None, backward_hooks=None, *_ignored):
    return data


_ALLOWED = {
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor,
    ("torch._utils", "_rebuild_tensor"): _rebuild_tensor,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    ("torch._utils", "_rebuild_parameter_with_state"): _rebuild_parameter,
}


class _Unpickler(pickle.Unpickler):
    def __init__(self, file, archive: zipfile.ZipFile, prefix: str, path: str):
        super().__init__(file)
        self._archive, self._prefix, self._path = archive, prefix, path
        self._storages: dict[str, np.ndarray] = {}

    def find_class(self, module, name):
        if module == "torch" and name in _STORAGE_DTYPES:
            return _StorageType(_STORAGE_DTYPES[name])
        if (module, name) in _ALLOWED:
            return _ALLOWED[(module, name)]
        if module == "torch" and name in ("Size",):
            return tuple
        raise pickle.UnpicklingError(
            f"{self._path}: the checkpoint names {module}.{name}, which is not part of a state dict; "
            "only tensors, dicts, lists and numbers are read (save model.state_dict(), not the model)")

    def persistent_load(self, pid):
        # ('storage', storage_type, key, location, numel)
        if not isinstance(pid, tuple) or not pid or pid[0] != "storage":
            raise pickle.UnpicklingError(f"{self._path}: unknown persistent id {pid!r}")
        kind, key = pid[1], str(pid[2])
        if key not in self._storages:
            raw = self._archive.read(f"{self._prefix}/data/{key}")
            if kind.dtype == "bfloat16":  # the top half of a float32
                halves = np.frombuffer(raw, np.uint16)
                arr = (halves.astype(np.uint32) << 16).view(np.float32)
            else:
                arr = np.frombuffer(raw, kind.dtype)
            self._storages[key] = arr
        return self._storages[key]


def is_torch_zip(path: str) -> bool:
    return zipfile.is_zipfile(path)


def load_torch_file(path: str):
    """The object a `torch.save(state_dict, path)` wrote, with numpy arrays for tensors."""
    if not zipfile.is_zipfile(path):
        raise ValueError(
            f"{path}: not a PyTorch zip checkpoint (torch.save before 1.6 wrote another format); "
            "re-save it with a recent PyTorch or as safetensors (safetensors.torch.save_file)")
    with zipfile.ZipFile(path) as archive:
        pkl = [n for n in archive.namelist() if n.endswith("/data.pkl") or n == "data.pkl"]
        if not pkl:
            raise ValueError(f"{path}: a zip file without data.pkl is not a PyTorch checkpoint")
        prefix = pkl[0][: -len("/data.pkl")] if "/" in pkl[0] else ""
        with archive.open(pkl[0]) as f:
            obj = _Unpickler(f, archive, prefix, path).load()
    return obj
