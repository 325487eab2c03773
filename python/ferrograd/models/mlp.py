"""A configurable multilayer perceptron: classifier, or regressor (num_classes = number of targets).

    x (N, in_features) or (N, *) flattened  ->  blocks.i: fc -> norm -> act -> drop  ->  head
    names: blocks.0.fc.weight, blocks.0.norm.{weight,bias,running_mean,...}, ..., head.weight

Widths come from `hidden_sizes=[512, 256]` or from `depth=2, width=512`; `activation` by name
("relu", "gelu", "tanh", ...) or an nn.Module class; `norm` None, "batch" (BatchNorm1d) or
"layer" (LayerNorm), after the Linear and before the activation; `dropout` after the activation.
A checkpoint of a plain `nn.Sequential(nn.Linear, nn.ReLU, ..., nn.Linear)` ("0.weight",
"2.weight", ...) loads too: `remap_state_dict` renames its layers in order.
"""

from __future__ import annotations

import re

from .. import nn
from ..tensor import Tensor
from ._base import ZooModel
from ._registry import register_model

ACTIVATIONS = {
    "relu": nn.ReLU, "gelu": nn.GELU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid, "silu": nn.SiLU, "swish": nn.SiLU,
    "leaky_relu": nn.LeakyReLU, "elu": nn.ELU, "selu": nn.SELU, "mish": nn.Mish, "softplus": nn.Softplus,
    "identity": nn.Identity, "linear": nn.Identity,
}
NORMS = {None: None, "none": None, "batch": nn.BatchNorm1d, "layer": nn.LayerNorm}


class MLPBlock(nn.Module):
    """Linear -> norm -> activation -> dropout."""

    def __init__(self, in_features, out_features, act_layer=nn.ReLU, norm_layer=None, dropout=0.0, bias=True):
        super().__init__()
        self.fc = nn.Linear(in_features, out_features, bias=bias)
        self.norm = norm_layer(out_features) if norm_layer is not None else nn.Identity()
        self.act = act_layer()
        self.drop = nn.Dropout(dropout) if dropout > 0 else nn.Identity()

    def forward(self, x):
        return self.drop(self.act(self.norm(self.fc(x))))  # (N, out_features)


class MLP(ZooModel):
    default_cfg = dict(classifier="head", input_size=(784,), family="mlp")

    def __init__(self, in_features=784, hidden_sizes=None, num_classes=10, *, depth=None, width=None,
                 activation="relu", dropout=0.0, norm=None, bias=True, name="MLP"):
        super().__init__()
        self.model_name = name
        if not isinstance(in_features, int) or isinstance(in_features, bool) or in_features < 1:
            raise ValueError(f"{name}: in_features must be a positive int, got {in_features!r}")
        if not isinstance(num_classes, int) or isinstance(num_classes, bool) or num_classes < 0:
            raise ValueError(f"{name}: num_classes must be an int >= 0 (outputs; 0: no head), got {num_classes!r}")
        hidden = self._hidden_sizes(name, hidden_sizes, depth, width)
        if isinstance(activation, str):
            if activation.lower() not in ACTIVATIONS:
                raise ValueError(f"{name}: unknown activation {activation!r}, expected one of {sorted(ACTIVATIONS)} "
                                 f"or an nn.Module class")
            act_layer = ACTIVATIONS[activation.lower()]
        elif isinstance(activation, type) and issubclass(activation, nn.Module):
            act_layer = activation
        else:
            raise TypeError(f"{name}: activation must be a name such as 'relu' or an nn.Module class, "
                            f"got {activation!r}")
        if norm not in NORMS:
            raise ValueError(f"{name}: norm must be None, 'batch' or 'layer', got {norm!r}")
        if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0.0 <= dropout < 1.0:
            raise ValueError(f"{name}: dropout must be a probability in [0, 1), got {dropout!r}")

        self.in_features, self.num_classes, self.hidden_sizes = in_features, num_classes, hidden
        widths = [in_features, *hidden]
        self.blocks = nn.Sequential(*[MLPBlock(a, b, act_layer, NORMS[norm], float(dropout), bias)
                                      for a, b in zip(widths[:-1], widths[1:])])
        self.num_features = widths[-1]
        self.head = nn.Linear(widths[-1], num_classes) if num_classes else nn.Identity()

    @staticmethod
    def _hidden_sizes(name, hidden_sizes, depth, width):
        if hidden_sizes is not None and (depth is not None or width is not None):
            raise ValueError(f"{name}: give hidden_sizes or depth and width, not both "
                             f"(got hidden_sizes={hidden_sizes!r}, depth={depth!r}, width={width!r})")
        if hidden_sizes is None:
            if depth is None and width is None:
                return []
            if not isinstance(depth, int) or isinstance(depth, bool) or depth < 0:
                raise ValueError(f"{name}: depth (number of hidden layers) must be an int >= 0, got {depth!r}")
            if depth and (not isinstance(width, int) or isinstance(width, bool) or width < 1):
                raise ValueError(f"{name}: width must be a positive int with depth={depth}, got {width!r}")
            return [width] * depth
        if isinstance(hidden_sizes, int):
            hidden_sizes = [hidden_sizes]
        if not isinstance(hidden_sizes, (list, tuple)) or not all(
                isinstance(h, int) and not isinstance(h, bool) and h >= 1 for h in hidden_sizes):
            raise ValueError(f"{name}: hidden_sizes must be a list of positive ints, got {hidden_sizes!r}")
        return list(hidden_sizes)

    def forward_features(self, x):
        if not isinstance(x, Tensor):
            raise TypeError(f"{self.model_name}: input must be a Tensor of shape (N, {self.in_features}), "
                            f"got {type(x).__name__}")
        if x.ndim > 2:
            x = x.flatten(1)  # images (N, C, H, W) -> (N, C*H*W)
        if x.ndim != 2 or x.shape[1] != self.in_features:
            raise ValueError(f"{self.model_name}: expected input of shape (N, {self.in_features}) "
                             f"(or (N, *) with {self.in_features} values per sample), got {tuple(x.shape)}")
        return self.blocks(x)  # (N, hidden_sizes[-1])

    def forward_head(self, x, pre_logits=False):
        return x if pre_logits else self.head(x)  # (N, num_classes)

    def layer_groups(self):
        """Each hidden block, then the head."""
        return [(f"blocks.{i}", [b]) for i, b in enumerate(self.blocks)] + [("head", [self.head])]

    @staticmethod
    def remap_state_dict(sd, model):
        """A plain nn.Sequential checkpoint ("0.weight", "1.running_mean", ..., maybe under one prefix
        such as "net.") -> our names: its layers with weights, in order, become blocks.i.fc,
        blocks.i.norm, ..., head. Any other checkpoint passes through unchanged."""
        own = model.state_dict()
        if set(sd) <= set(own) or not sd:
            return sd
        pattern = re.compile(r"^(.*?)(\d+)\.([A-Za-z_]+)$")
        parsed = [pattern.match(k) for k in sd]
        if not all(parsed) or len({m.group(1) for m in parsed}) != 1:
            return sd  # not a Sequential: let the strict load name what is wrong
        layers = sorted({int(m.group(2)) for m in parsed})
        targets = []  # our modules that hold state, in order
        for name, module in model.named_modules():
            if name and not module._modules and (module._parameters or module._buffers):
                targets.append(name)
        if len(layers) != len(targets):
            raise ValueError(f"{model.model_name}.remap_state_dict: the checkpoint's Sequential has "
                             f"{len(layers)} layers with weights ({layers}), this model has {len(targets)} "
                             f"({targets})")
        rename = dict(zip(layers, targets))
        return {f"{rename[int(m.group(2))]}.{m.group(3)}": v for m, v in zip(parsed, sd.values())}


@register_model
def mlp(**kwargs) -> MLP:
    """MLP 784-512-256-10 (ReLU); set in_features, hidden_sizes or depth/width, norm, dropout, activation."""
    kwargs.setdefault("hidden_sizes", None if "depth" in kwargs or "width" in kwargs else [512, 256])
    return MLP(name="mlp", **kwargs)


@register_model
def mlp_small(**kwargs) -> MLP:
    """MLP 784-128-10 (ReLU): one hidden layer."""
    kwargs.setdefault("hidden_sizes", None if "depth" in kwargs or "width" in kwargs else [128])
    return MLP(name="mlp_small", **kwargs)
