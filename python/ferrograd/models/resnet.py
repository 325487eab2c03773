"""ResNet-18/34/50 with torchvision's module names and weight layouts, so its checkpoints load by name.

    conv1, bn1, (relu, maxpool: no weights), layer1..layer4 (Sequential of blocks:
    conv1/bn1/conv2/bn2[/conv3/bn3], downsample.0 = 1×1 conv, downsample.1 = BatchNorm2d), fc

Options beyond torchvision's constructor (defaults reproduce torchvision exactly):
- `in_chans`: input channels of conv1 (torchvision: 3).
- `stem="small"` for 8×8–32×32 images (CIFAR-style): conv1 becomes a 3×3 stride-1 conv and the max
  pool is dropped, so the stem no longer divides the image by 4. conv1 keeps its name, so every
  other weight of a torchvision checkpoint still loads; conv1.weight itself loads only from a
  checkpoint that used the same stem (the usual `model.conv1 = nn.Conv2d(3, 64, 3, 1, 1,
  bias=False); model.maxpool = nn.Identity()` surgery on a torchvision model gives exactly that).
  create_model("resnet18_small", pretrained=<torchvision checkpoint>) loads everything else and
  keeps a fresh conv1, with a warning (see ResNet.remap_state_dict; also in_chans != 3).
  `resnet18_small` etc. are the same models with the small stem preset.
- `planes`: the four stages' widths (torchvision: 64, 128, 256, 512; the stem has planes[0]
  channels). Narrow widths give tiny models for tests and quick experiments.
"""

from __future__ import annotations

import warnings

import numpy as np

from .. import nn
from ..tensor import Tensor
from ._base import ZooModel
from ._registry import register_model


def conv3x3(in_planes, out_planes, stride=1, groups=1, dilation=1):
    return nn.Conv2d(in_planes, out_planes, 3, stride=stride, padding=dilation, groups=groups, bias=False,
                     dilation=dilation)


def conv1x1(in_planes, out_planes, stride=1):
    return nn.Conv2d(in_planes, out_planes, 1, stride=stride, bias=False)


class BasicBlock(nn.Module):
    """Two 3×3 convs + identity (ResNet-18/34)."""

    expansion = 1

    def __init__(self, inplanes, planes, stride=1, downsample=None, groups=1, base_width=64, dilation=1,
                 norm_layer=None):
        super().__init__()
        if groups != 1 or base_width != 64:
            raise ValueError(f"BasicBlock: only groups=1 and base_width=64 are supported, got groups={groups}, "
                             f"base_width={base_width} (use Bottleneck)")
        if dilation > 1:
            raise ValueError(f"BasicBlock: dilation > 1 is not supported, got dilation={dilation} (use Bottleneck)")
        norm_layer = norm_layer or nn.BatchNorm2d
        self.conv1 = conv3x3(inplanes, planes, stride)
        self.bn1 = norm_layer(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = norm_layer(planes)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        identity = x if self.downsample is None else self.downsample(x)
        return self.relu(out + identity)


class Bottleneck(nn.Module):
    """1×1 reduce, 3×3 (stride here: torchvision's "v1.5"), 1×1 expand ×4 (ResNet-50)."""

    expansion = 4

    def __init__(self, inplanes, planes, stride=1, downsample=None, groups=1, base_width=64, dilation=1,
                 norm_layer=None):
        super().__init__()
        norm_layer = norm_layer or nn.BatchNorm2d
        width = int(planes * (base_width / 64.0)) * groups
        self.conv1 = conv1x1(inplanes, width)
        self.bn1 = norm_layer(width)
        self.conv2 = conv3x3(width, width, stride, groups, dilation)
        self.bn2 = norm_layer(width)
        self.conv3 = conv1x1(width, planes * self.expansion)
        self.bn3 = norm_layer(planes * self.expansion)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        identity = x if self.downsample is None else self.downsample(x)
        return self.relu(out + identity)


class ResNet(ZooModel):
    """torchvision's ResNet (same arguments, names and init) plus `in_chans`, `stem` and `planes`."""

    default_cfg = dict(classifier="fc", input_size=(3, 224, 224), family="resnet")

    def __init__(self, block, layers, num_classes=1000, zero_init_residual=False, groups=1, width_per_group=64,
                 replace_stride_with_dilation=None, norm_layer=None, in_chans=3, stem="default",
                 planes=(64, 128, 256, 512)):
        super().__init__()
        name = type(self).__name__
        if block not in (BasicBlock, Bottleneck) and not (isinstance(block, type) and hasattr(block, "expansion")):
            raise TypeError(f"{name}: block must be BasicBlock or Bottleneck (a class with `expansion`), got {block!r}")
        if not (isinstance(layers, (list, tuple)) and len(layers) == 4
                and all(isinstance(n, int) and n >= 1 for n in layers)):
            raise ValueError(f"{name}: layers must be 4 positive ints (blocks per stage), got {layers!r}")
        if not (isinstance(planes, (list, tuple)) and len(planes) == 4
                and all(isinstance(p, int) and p >= 1 for p in planes)):
            raise ValueError(f"{name}: planes must be 4 positive ints (stage widths), got {planes!r}")
        if not isinstance(num_classes, int) or isinstance(num_classes, bool) or num_classes < 0:
            raise ValueError(f"{name}: num_classes must be an int >= 0 (0: no classifier), got {num_classes!r}")
        if not isinstance(in_chans, int) or isinstance(in_chans, bool) or in_chans < 1:
            raise ValueError(f"{name}: in_chans must be a positive int, got {in_chans!r}")
        if stem not in ("default", "small"):
            raise ValueError(f"{name}: stem must be 'default' (7×7 stride 2 + max pool, 224×224 images) or "
                             f"'small' (3×3 stride 1, no max pool, 8×8–32×32 images), got {stem!r}")
        if replace_stride_with_dilation is None:
            replace_stride_with_dilation = [False, False, False]
        if len(replace_stride_with_dilation) != 3:
            raise ValueError(f"{name}: replace_stride_with_dilation should be None or a 3-element tuple, "
                             f"got {replace_stride_with_dilation!r}")
        self._norm_layer = norm_layer or nn.BatchNorm2d
        self.in_chans, self.stem, self.num_classes = in_chans, stem, num_classes
        self.inplanes, self.dilation = planes[0], 1
        self.groups, self.base_width = groups, width_per_group

        if stem == "small":
            self.conv1 = nn.Conv2d(in_chans, self.inplanes, kernel_size=3, stride=1, padding=1, bias=False)
        else:
            self.conv1 = nn.Conv2d(in_chans, self.inplanes, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = self._norm_layer(self.inplanes)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.Identity() if stem == "small" else nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(block, planes[0], layers[0])
        self.layer2 = self._make_layer(block, planes[1], layers[1], 2, replace_stride_with_dilation[0])
        self.layer3 = self._make_layer(block, planes[2], layers[2], 2, replace_stride_with_dilation[1])
        self.layer4 = self._make_layer(block, planes[3], layers[3], 2, replace_stride_with_dilation[2])
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.num_features = planes[3] * block.expansion
        self.fc = nn.Linear(self.num_features, num_classes) if num_classes else nn.Identity()

        for m in self.modules():  # torchvision's init
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)
        if zero_init_residual:  # each residual branch starts as zero: the block is an identity
            for m in self.modules():
                if isinstance(m, Bottleneck):
                    nn.init.constant_(m.bn3.weight, 0)
                elif isinstance(m, BasicBlock):
                    nn.init.constant_(m.bn2.weight, 0)

        # one entry per stage output, timm's format; reductions are what the stem makes them
        r = 1 if stem == "small" else 2
        self.feature_info = [dict(num_chs=planes[0], reduction=r, module="relu")]
        r *= 1 if stem == "small" else 2
        for i, dilate in enumerate([False, *replace_stride_with_dilation]):
            r *= 1 if i == 0 or dilate else 2
            self.feature_info.append(dict(num_chs=planes[i] * block.expansion, reduction=r, module=f"layer{i + 1}"))

    def _make_layer(self, block, planes, blocks, stride=1, dilate=False):
        norm_layer, previous_dilation = self._norm_layer, self.dilation
        if dilate:  # keep the resolution, widen the receptive field instead
            self.dilation *= stride
            stride = 1
        downsample = None
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = nn.Sequential(conv1x1(self.inplanes, planes * block.expansion, stride),
                                       norm_layer(planes * block.expansion))
        layers = [block(self.inplanes, planes, stride, downsample, self.groups, self.base_width, previous_dilation,
                        norm_layer)]
        self.inplanes = planes * block.expansion
        for _ in range(1, blocks):
            layers.append(block(self.inplanes, planes, groups=self.groups, base_width=self.base_width,
                                dilation=self.dilation, norm_layer=norm_layer))
        return nn.Sequential(*layers)

    def _check_input(self, x):
        name = getattr(self, "model_name", None) or type(self).__name__
        if not isinstance(x, Tensor):
            raise TypeError(f"{name}: input must be a Tensor of shape (N, {self.in_chans}, H, W), "
                            f"got {type(x).__name__}")
        if x.ndim != 4 or x.shape[1] != self.in_chans:
            raise ValueError(f"{name}: expected input of shape (N, {self.in_chans}, H, W), got {tuple(x.shape)}")

    def _stem(self, x):
        return self.relu(self.bn1(self.conv1(x)))  # (N, planes[0], H/2, W/2); H, W with the small stem

    def forward_features(self, x):
        self._check_input(x)
        x = self.maxpool(self._stem(x))
        x = self.layer1(x)
        x = self.layer2(x)
        x = self.layer3(x)
        return self.layer4(x)  # (N, C, H/32, W/32); H/8, W/8 with the small stem

    def forward_head(self, x, pre_logits=False):
        x = self.avgpool(x).flatten(1)  # (N, C)
        return x if pre_logits else self.fc(x)

    def forward(self, x):
        return self.forward_head(self.forward_features(x))

    def forward_intermediates(self, x):
        """The output of every `feature_info` entry: stem activation, then layer1..layer4."""
        self._check_input(x)
        x = self._stem(x)
        outs = [x]
        x = self.maxpool(x)
        for layer in (self.layer1, self.layer2, self.layer3, self.layer4):
            x = layer(x)
            outs.append(x)
        return outs

    @staticmethod
    def remap_state_dict(sd, model):
        """Fit a checkpoint's conv1 to this model's stem before the strict load:
        - other input channels (a 3-channel checkpoint, in_chans=1 or 4...): timm's adapt_input_conv:
          sum over RGB for 1 channel, else repeat the RGB filters and scale by 3 / in_chans;
        - another kernel (a torchvision 7×7 checkpoint into the small 3×3 stem): no faithful mapping
          exists, so conv1 keeps its fresh init (with a warning) and every other weight loads."""
        w, own = sd.get("conv1.weight"), model.conv1.weight
        if w is None or tuple(w.shape) == tuple(own.shape) or w.ndim != 4 or w.shape[0] != own.shape[0]:
            return sd  # absent, equal, or a different model: the strict load says what is wrong
        name = getattr(model, "model_name", None) or type(model).__name__
        if tuple(w.shape[2:]) != tuple(own.shape[2:]):
            warnings.warn(f"{name}: the checkpoint's conv1.weight is {tuple(w.shape)} (a {w.shape[2]}×{w.shape[3]} "
                          f"stem), this model's is {tuple(own.shape)} (stem={model.stem!r}); conv1 keeps its "
                          f"fresh initialisation, every other weight is loaded", UserWarning, stacklevel=2)
            return {**sd, "conv1.weight": own.detach().cpu().numpy().astype(w.dtype)}
        cin = own.shape[1]
        if cin == 1:
            adapted = w.sum(axis=1, keepdims=True)
        else:
            reps = -(-cin // w.shape[1])
            adapted = np.tile(w, (1, reps, 1, 1))[:, :cin] * (w.shape[1] / cin)
        return {**sd, "conv1.weight": adapted.astype(w.dtype)}

    def layer_groups(self):
        """stem (conv1, bn1), layer1, ..., layer4, fc: bottom to top."""
        return [("stem", [self.conv1, self.bn1]), ("layer1", [self.layer1]), ("layer2", [self.layer2]),
                ("layer3", [self.layer3]), ("layer4", [self.layer4]), ("fc", [self.fc])]


def _resnet(name, block, layers, kwargs, stem=None):
    if stem is not None:
        if kwargs.get("stem", stem) != stem:
            raise ValueError(f"{name}: this model's stem is {stem!r}, got stem={kwargs['stem']!r}")
        kwargs = {**kwargs, "stem": stem}
    try:
        model = ResNet(block, layers, **kwargs)
    except (TypeError, ValueError) as e:  # name the registered model, not just the class
        raise type(e)(f"{name}: {e}") from None
    model.model_name = name
    return model


@register_model
def resnet18(**kwargs) -> ResNet:
    """ResNet-18 (torchvision names; 11.7 M parameters at 1000 classes)."""
    return _resnet("resnet18", BasicBlock, [2, 2, 2, 2], kwargs)


@register_model
def resnet34(**kwargs) -> ResNet:
    """ResNet-34 (torchvision names)."""
    return _resnet("resnet34", BasicBlock, [3, 4, 6, 3], kwargs)


@register_model
def resnet50(**kwargs) -> ResNet:
    """ResNet-50, Bottleneck v1.5 (torchvision names)."""
    return _resnet("resnet50", Bottleneck, [3, 4, 6, 3], kwargs)


@register_model
def resnet18_small(**kwargs) -> ResNet:
    """ResNet-18 with the small-image stem (3×3 stride 1, no max pool) for 8×8–32×32 inputs."""
    return _resnet("resnet18_small", BasicBlock, [2, 2, 2, 2], kwargs, stem="small")


@register_model
def resnet34_small(**kwargs) -> ResNet:
    """ResNet-34 with the small-image stem for 8×8–32×32 inputs."""
    return _resnet("resnet34_small", BasicBlock, [3, 4, 6, 3], kwargs, stem="small")


@register_model
def resnet50_small(**kwargs) -> ResNet:
    """ResNet-50 with the small-image stem for 8×8–32×32 inputs."""
    return _resnet("resnet50_small", Bottleneck, [3, 4, 6, 3], kwargs, stem="small")
