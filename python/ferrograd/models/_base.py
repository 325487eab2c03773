"""`ZooModel`: what every model in the zoo offers on top of `nn.Module` — features before the head,
a replaceable classifier, and parameter groups (bottom → top) for freezing and layer-wise
learning-rate decay."""

from __future__ import annotations

from .. import nn


class ZooModel(nn.Module):
    """A zoo model. Subclasses set `default_cfg` (at least `classifier`, the head's module path,
    or None for models without one) and override what applies:

    - `forward_features(x)`: the backbone output before pooling and head;
    - `forward_head(features, pre_logits=False)`: pooling and classifier;
    - `reset_classifier(num_classes)`: a fresh head (0 gives nn.Identity: features out);
    - `layer_groups()`: `[(name, [modules])]`, bottom (stem, embeddings) to top (head).
    """

    default_cfg: dict = {"classifier": None}

    def forward_features(self, x):
        raise NotImplementedError(f"{type(self).__name__}.forward_features is not defined")

    def forward_head(self, x, pre_logits: bool = False):
        raise NotImplementedError(f"{type(self).__name__}.forward_head is not defined")

    def forward(self, x):
        return self.forward_head(self.forward_features(x))

    # ---- the classifier ------------------------------------------------------------------
    def get_classifier(self) -> nn.Module:
        path = self.default_cfg.get("classifier")
        if path is None:
            raise NotImplementedError(f"{type(self).__name__} has no classifier head")
        return self.get_submodule(path)

    def reset_classifier(self, num_classes: int) -> None:
        """Replace the head (a Linear from the same features) by one with `num_classes` outputs;
        0 gives nn.Identity, so forward returns the pooled features."""
        if not isinstance(num_classes, int) or isinstance(num_classes, bool) or num_classes < 0:
            raise ValueError(f"{type(self).__name__}.reset_classifier: num_classes must be an int >= 0, "
                             f"got {num_classes!r}")
        path = self.default_cfg.get("classifier")
        if path is None:
            raise NotImplementedError(f"{type(self).__name__}.reset_classifier: the model has no classifier head")
        in_features = self.num_features
        head = nn.Linear(in_features, num_classes) if num_classes > 0 else nn.Identity()
        parent, _, name = path.rpartition(".")
        owner = self.get_submodule(parent) if parent else self
        setattr(owner, name, head)
        self.num_classes = num_classes
        device = next((p.device for p in self.parameters()), None)
        if device is not None and num_classes > 0:
            head.to(device)

    @property
    def num_features(self) -> int:
        """Width of what the classifier reads (set by subclasses as `self.num_features = ...`)."""
        value = self.__dict__.get("_num_features")
        if value is None:
            head = self.get_classifier()
            if isinstance(head, nn.Linear):
                return head.in_features
            raise AttributeError(f"{type(self).__name__} does not record num_features")
        return value

    @num_features.setter
    def num_features(self, value: int) -> None:
        self.__dict__["_num_features"] = int(value)

    # ---- parameter groups ------------------------------------------------------------------
    def layer_groups(self) -> list[tuple[str, list[nn.Module]]]:
        """Bottom-to-top groups for freezing and layer-wise lr decay. By default the direct
        children in registration order; families override this with stages or blocks."""
        return [(name, [child]) for name, child in self.named_children()]


def parameter_groups(model: nn.Module) -> list[tuple[str, list]]:
    """`(group name, [parameters])` bottom → top. Zoo models say through `layer_groups()`; any
    other module groups by direct children. Parameters of no group (a bare nn.Parameter on the
    model, such as CLIP's logit_scale) join the top group; each parameter appears once."""
    groups = model.layer_groups() if hasattr(model, "layer_groups") else \
        [(n, [c]) for n, c in model.named_children()]
    seen: set[int] = set()
    out = []
    for name, modules in groups:
        params = []
        for m in modules:
            for p in (m.parameters() if isinstance(m, nn.Module) else [m]):
                if id(p) not in seen:
                    seen.add(id(p))
                    params.append(p)
        out.append((name, params))
    rest = [p for p in model.parameters() if id(p) not in seen]
    if rest:
        if out:
            out[-1] = (out[-1][0], out[-1][1] + rest)
        else:
            out.append(("parameters", rest))
    return out
