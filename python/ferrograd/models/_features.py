"""`features_only=True`: a model whose forward returns the stage outputs, with timm's FeatureInfo
(channels and reduction of each) beside it."""

from __future__ import annotations

from .. import nn


class FeatureInfo:
    """timm's feature_info: per chosen stage a dict(num_chs, reduction, module)."""

    def __init__(self, info: list[dict], out_indices: list[int]):
        self.info = [dict(info[i], index=i) for i in out_indices]
        self.out_indices = tuple(out_indices)

    def channels(self, idx=None):
        return self._get("num_chs", idx)

    def reduction(self, idx=None):
        return self._get("reduction", idx)

    def module_name(self, idx=None):
        return self._get("module", idx)

    def get_dicts(self):
        return [dict(d) for d in self.info]

    def _get(self, key, idx):
        if idx is None:
            return [d[key] for d in self.info]
        return self.info[idx][key]

    def __len__(self):
        return len(self.info)

    def __getitem__(self, i):
        return self.info[i]

    def __repr__(self):
        return f"FeatureInfo(channels={self.channels()}, reduction={self.reduction()})"


class FeatureListNet(nn.Module):
    """Wraps a zoo model that defines `feature_info` and `forward_intermediates(x)`; forward
    returns the outputs of the stages in `out_indices` (default: all)."""

    def __init__(self, model: nn.Module, out_indices=None):
        super().__init__()
        name = type(model).__name__
        info = getattr(model, "feature_info", None)
        if not info or not hasattr(model, "forward_intermediates"):
            raise ValueError(f"create_model: features_only=True needs a vision model with stages; "
                             f"{name} has no feature_info")
        n = len(info)
        idx = list(range(n)) if out_indices is None else list(out_indices)
        for i in idx:
            if not isinstance(i, int) or not -n <= i < n:
                raise ValueError(f"create_model: out_indices must be stage numbers in [-{n}, {n}) for {name}, got {out_indices!r}")
        self.out_indices = [i % n for i in idx]
        # The model's own children, parameters and buffers (shared), so state_dict names are the
        # model's: weights saved from either load into the other.
        object.__setattr__(self, "_model", model)
        for child_name, child in model.named_children():
            self.add_module(child_name, child)
        for p_name, p in model._parameters.items():
            self.register_parameter(p_name, p)
        hidden = model.__dict__.get("_non_persistent", set())
        for b_name, b in model._buffers.items():
            self.register_buffer(b_name, b, persistent=b_name not in hidden)
        self.feature_info = FeatureInfo(info, self.out_indices)

    def forward(self, x):
        stages = self._model.forward_intermediates(x)
        return [stages[i] for i in self.out_indices]

    def train(self, mode: bool = True):
        super().train(mode)
        self._model.train(mode)  # the wrapped model itself is not one of our children
        return self
