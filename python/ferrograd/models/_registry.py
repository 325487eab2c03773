"""The model registry: `@register_model` on a factory function, `list_models` with wildcards (as
timm), and `create_model`, which builds a model, loads pretrained weights and wraps it for
`features_only`."""

from __future__ import annotations

import difflib
import fnmatch
import inspect
from dataclasses import dataclass
from typing import Callable

_MODELS: dict[str, "ModelEntry"] = {}


@dataclass(frozen=True)
class ModelEntry:
    name: str
    factory: Callable
    family: str  # the file that defines it: "resnet", "bert", ...
    description: str


def register_model(fn: Callable) -> Callable:
    """Register a factory under its function name; the first docstring line describes it."""
    name = fn.__name__
    if name in _MODELS and _MODELS[name].factory is not fn:
        raise ValueError(f"register_model: {name!r} is already registered by {_MODELS[name].family}")
    doc = inspect.getdoc(fn) or ""
    family = fn.__module__.rsplit(".", 1)[-1]
    _MODELS[name] = ModelEntry(name, fn, family, doc.splitlines()[0] if doc else "")
    return fn


def list_models(pattern: str = "*", family: str | None = None) -> list[str]:
    """Registered model names matching a shell-style wildcard (`list_models("resnet*")`), sorted."""
    if not isinstance(pattern, str):
        raise TypeError(f"list_models: pattern must be a str such as 'resnet*', got {type(pattern).__name__}")
    names = [n for n, e in _MODELS.items() if fnmatch.fnmatchcase(n, pattern) and (family is None or e.family == family)]
    return sorted(names)


def model_entry(name: str) -> ModelEntry:
    if not isinstance(name, str):
        raise TypeError(f"create_model: model_name must be a str, got {type(name).__name__}")
    if name not in _MODELS:
        close = difflib.get_close_matches(name, list(_MODELS), n=3)
        hint = f" Did you mean {', '.join(map(repr, close))}?" if close else ""
        raise ValueError(f"create_model: unknown model {name!r}.{hint} "
                         f"fg.models.list_models() lists the {len(_MODELS)} models.")
    return _MODELS[name]


def model_class(entry: ModelEntry):
    """The class a factory returns (its return annotation), or None when it does not say."""
    try:
        cls = inspect.signature(entry.factory, eval_str=True).return_annotation
    except (NameError, TypeError, ValueError):
        return None
    return cls if inspect.isclass(cls) else None


def create_model(model_name: str, pretrained=None, num_classes: int | None = None,
                 features_only: bool = False, out_indices=None, **kwargs):
    """Build a registered model.

    pretrained: None, or where the weights are: a weights file (.safetensors, PyTorch .pth/.pt/.bin,
    .npz), a model directory (Hugging Face style: config.json + model.safetensors), or a name that an
    installed package ships (see `fg.models.known_pretrained()`). With a directory whose config.json
    describes the model, that config is the default for the model's arguments.
    num_classes: a new classifier size; with pretrained weights of another size the checkpoint's head
    is dropped and a fresh one of this size is used (as timm).
    features_only: return a model whose forward gives the list of stage outputs (vision models);
    `out_indices` picks the stages.
    """
    from . import _pretrained
    from ._features import FeatureListNet

    entry = model_entry(model_name)
    if num_classes is not None and (not isinstance(num_classes, int) or isinstance(num_classes, bool) or num_classes < 0):
        raise ValueError(f"create_model: num_classes must be an int >= 0, got {num_classes!r}")
    source = None
    if pretrained is not None and pretrained is not False:
        source = _pretrained.resolve(pretrained, model_name)
        kwargs = {**_pretrained.config_kwargs(model_class(entry), source), **kwargs}
    if num_classes is not None:
        kwargs["num_classes"] = num_classes
    from ..nn.init import no_init_weights

    try:
        if source is None:
            model = entry.factory(**kwargs)
        else:
            with no_init_weights():  # every weight is loaded next: skip drawing them
                model = entry.factory(**kwargs)
    except TypeError as e:
        raise TypeError(f"create_model({model_name!r}): {e}") from None
    if source is not None:
        kept_head = _pretrained.load_pretrained(model, source, keep_new_classifier=num_classes is not None,
                                                report=True)
        if kept_head:  # the checkpoint's head had another size: a freshly initialised one
            model.reset_classifier(num_classes)
    if features_only:
        model = FeatureListNet(model, out_indices=out_indices)
    return model
