"""CLIP (Radford et al. 2021) with open_clip's module names and layouts, so open_clip checkpoints
(open_clip_pytorch_model.bin / open_clip_model.safetensors of a hub directory) load by name:

    visual.conv1 (patch conv, no bias), visual.class_embedding, visual.positional_embedding,
    visual.ln_pre, visual.transformer.resblocks.N.{ln_1, attn.in_proj_weight, attn.in_proj_bias,
    attn.out_proj, ln_2, mlp.c_fc, mlp.c_proj}, visual.ln_post, visual.proj  — the image tower;
    token_embedding, positional_embedding, transformer.resblocks.N.…, ln_final, text_projection
    — the text tower (causal attention; `attn_mask` a non-persistent buffer, as open_clip);
    logit_scale (initialised to log(1/0.07)).

The model is configured as open_clip's JSON model configs are: `CLIP(embed_dim, vision_cfg,
text_cfg, quick_gelu=False, ...)` with the keys of open_clip's CLIPVisionCfg / CLIPTextCfg (the
ViT image tower and the built-in text transformer; timm / ResNet / Hugging Face towers and the
custom attention blocks are not supported and raise). `vision_cfg["in_chans"]` (default 3) is a
ferrograd addition for grayscale images.

`forward(image, text)` returns open_clip's `(image_features, text_features, logit_scale.exp())`
with L2-normalised features; `encode_image` / `encode_text(normalize=False)` as open_clip.
Attention runs as one packed in-projection + fused `F.scaled_dot_product_attention` (causal for
text); the GELU MLPs run as one fused `F.channel_mixing` op (QuickGELU models use the composite).

Models: `clip_vit_b32` and `clip_vit_b16` (open_clip's ViT-B-32 / ViT-B-16 configs, random init;
`quick_gelu=True` for OpenAI's weights), `clip_vit_l14`, and `clip_tiny` (32×32 images, patch 4,
width 64, 2 layers per tower, a 259-token byte vocabulary that `CharTokenizer(context_length=32)`
produces) for self-trained CLIPs on small data.

Zero-shot: `zero_shot_classifier(model, tokenizer, classnames, templates)` → (embed_dim, classes)
weights, as open_clip's build_zero_shot_classifier. The tokenizer is any callable from a list of
strings to token ids (N, context_length): `CharTokenizer`, `HFTokenizer` (a `tokenizers`
tokenizer.json, e.g. the CLIP BPE one of a Hugging Face CLIP model directory), or open_clip's own.
Text pooling takes the features at the largest token id (open_clip's "argmax": <eot> has the
largest id in CLIP's vocabularies), so a tokenizer must give <eot> the largest id.
"""

from __future__ import annotations

import json
import os
from typing import Callable, Sequence

import numpy as np

from .. import nn
from ..autograd import no_grad
from ..nn import functional as F
from ..tensor import Tensor, cat, empty
from ._base import ZooModel
from ._registry import register_model

OPENAI_DATASET_MEAN = (0.48145466, 0.4578275, 0.40821073)
OPENAI_DATASET_STD = (0.26862954, 0.26130258, 0.27577711)

# open_clip's CLIPVisionCfg / CLIPTextCfg fields: defaults, and the values we support ("any" or a set).
_VISION_DEFAULTS = dict(layers=12, width=768, head_width=64, mlp_ratio=4.0, patch_size=16, image_size=224,
                        ls_init_value=None, patch_dropout=0.0, attentional_pool=False, attn_pooler_queries=256,
                        attn_pooler_heads=8, no_ln_pre=False, pos_embed_type="learnable", final_ln_after_pool=False,
                        pool_type="tok", output_tokens=False, act_kwargs=None, norm_kwargs=None, block_type=None,
                        qk_norm=False, scaled_cosine_attn=False, scale_heads=False, scale_attn_inner=False,
                        scale_attn=False, scale_fc=False, timm_model_name=None, timm_model_pretrained=False,
                        timm_pool="avg", timm_proj="linear", timm_proj_bias=False, timm_drop=0.0,
                        timm_drop_path=None, in_chans=3)
_TEXT_DEFAULTS = dict(context_length=77, vocab_size=49408, hf_tokenizer_name=None, tokenizer_mode=None,
                      tokenizer_kwargs=None, width=512, heads=8, layers=12, mlp_ratio=4.0, ls_init_value=None,
                      embed_cls=False, pad_id=0, eos_id=2, no_causal_mask=False, final_ln_after_pool=False,
                      pool_type="argmax", proj_bias=False, proj_type="linear", output_tokens=False, act_kwargs=None,
                      norm_kwargs=None, block_type=None, qk_norm=False, scaled_cosine_attn=False, scale_heads=False,
                      scale_attn_inner=False, scale_attn=False, scale_fc=False, hf_model_name=None,
                      hf_model_pretrained=True, hf_proj_type="mlp", hf_pooler_type="mean_pooler")
# Options whose non-default values select architectures this file does not build.
_VISION_FIXED = ("patch_dropout", "attentional_pool", "pos_embed_type", "output_tokens", "act_kwargs", "qk_norm",
                 "scaled_cosine_attn", "scale_heads", "scale_attn_inner", "scale_attn", "scale_fc", "timm_model_name")
_TEXT_FIXED = ("embed_cls", "output_tokens", "act_kwargs", "qk_norm", "scaled_cosine_attn", "scale_heads",
               "scale_attn_inner", "scale_attn", "scale_fc", "hf_model_name")


def _config(name: str, which: str, cfg, defaults: dict, fixed: tuple) -> dict:
    if cfg is None:
        cfg = {}
    if not isinstance(cfg, dict):
        raise TypeError(f"{name}: {which} must be a dict of open_clip's {which} keys, got {type(cfg).__name__}")
    unknown = sorted(set(cfg) - set(defaults))
    if unknown:
        raise ValueError(f"{name}: unknown {which} keys {unknown}; known: {sorted(defaults)}")
    out = {**defaults, **cfg}
    for k in fixed:
        if out[k] != defaults[k]:
            raise ValueError(f"{name}: {which}[{k!r}]={out[k]!r} is not supported by ferrograd's CLIP "
                             f"(only the ViT / text transformer towers of open_clip's default blocks)")
    if out.get("block_type") not in (None, "default"):
        raise ValueError(f"{name}: {which}['block_type']={out['block_type']!r} is not supported (use 'default')")
    norm = out.get("norm_kwargs") or {}
    if set(norm) - {"eps"}:
        raise ValueError(f"{name}: {which}['norm_kwargs'] may only set eps, got {norm!r}")
    for k in ("layers", "width", "patch_size", "image_size", "heads", "context_length", "vocab_size", "in_chans"):
        if k in out and not (isinstance(out[k], int) and not isinstance(out[k], bool) and out[k] >= 1):
            if k == "layers" and isinstance(out[k], (list, tuple)):
                raise ValueError(f"{name}: {which}['layers'] as a list selects open_clip's ModifiedResNet, "
                                 f"which ferrograd's CLIP does not build")
            if k in ("patch_size", "image_size") and isinstance(out[k], (list, tuple)):
                continue
            raise ValueError(f"{name}: {which}[{k!r}] must be a positive int, got {out[k]!r}")
    return out


def _pair(v):
    return tuple(v) if isinstance(v, (list, tuple)) else (v, v)


class LayerScale(nn.Module):
    """x * gamma (open_clip's ls_1 / ls_2 when ls_init_value is set)."""

    def __init__(self, dim, init_values):
        super().__init__()
        self.gamma = nn.Parameter(Tensor(np.full(dim, init_values, dtype=np.float32)))

    def forward(self, x):
        return x * self.gamma


class QuickGELU(nn.Module):
    """x * sigmoid(1.702 x): OpenAI's activation (the `-quickgelu` configs)."""

    def forward(self, x):
        return x * F.sigmoid(1.702 * x)


class ResidualAttentionBlock(nn.Module):
    """x + attn(ln_1(x)), then x + mlp(ln_2(x)) (open_clip names; attn is nn.MultiheadAttention's
    packed in_proj_weight / in_proj_bias / out_proj)."""

    def __init__(self, d_model, n_head, mlp_ratio=4.0, ls_init_value=None, quick_gelu=False, eps=1e-5):
        super().__init__()
        self.ln_1 = nn.LayerNorm(d_model, eps=eps)
        self.attn = nn.MultiheadAttention(d_model, n_head, batch_first=True)
        self.ls_1 = LayerScale(d_model, ls_init_value) if ls_init_value is not None else nn.Identity()
        self.ln_2 = nn.LayerNorm(d_model, eps=eps)
        width = int(d_model * mlp_ratio)
        self.mlp = nn.Sequential({"c_fc": nn.Linear(d_model, width), "gelu": QuickGELU() if quick_gelu else nn.GELU(),
                                  "c_proj": nn.Linear(width, d_model)})
        self.ls_2 = LayerScale(d_model, ls_init_value) if ls_init_value is not None else nn.Identity()
        self.quick_gelu = quick_gelu

    def attention(self, x, causal: bool):
        a = self.attn
        B, T, D = x.shape
        qkv = F.linear(x, a.in_proj_weight, a.in_proj_bias)                                   # (B, T, 3D)
        qkv = qkv.reshape(B, T, 3, a.num_heads, a.head_dim).permute(2, 0, 3, 1, 4)            # (3, B, nh, T, hd)
        y = F.scaled_dot_product_attention(qkv[0], qkv[1], qkv[2], is_causal=causal)          # (B, nh, T, hd)
        return a.out_proj(y.transpose(1, 2).reshape(B, T, D))

    def feed_forward(self, x):
        if self.quick_gelu:
            return self.mlp(x)
        fc, proj = self.mlp.c_fc, self.mlp.c_proj  # Linear → exact GELU → Linear as one fused op
        return F.channel_mixing(x, fc.weight, fc.bias, proj.weight, proj.bias)

    def forward(self, x, causal: bool = False):                                               # (B, T, D)
        x = x + self.ls_1(self.attention(self.ln_1(x), causal))
        return x + self.ls_2(self.feed_forward(self.ln_2(x)))


class Transformer(nn.Module):
    """`resblocks`: a stack of ResidualAttentionBlocks on (B, T, width)."""

    def __init__(self, width, layers, heads, mlp_ratio=4.0, ls_init_value=None, quick_gelu=False, eps=1e-5):
        super().__init__()
        self.width, self.layers = width, layers
        self.resblocks = nn.ModuleList([ResidualAttentionBlock(width, heads, mlp_ratio, ls_init_value, quick_gelu, eps)
                                        for _ in range(layers)])

    def forward(self, x, causal: bool = False):
        for blk in self.resblocks:
            x = blk(x, causal)
        return x


class VisionTransformer(nn.Module):
    """open_clip's ViT image tower: patch conv + class token + positions → transformer → pooled
    token → ln_post → @ proj (B, output_dim)."""

    def __init__(self, image_size, patch_size, width, layers, heads, mlp_ratio, output_dim, ls_init_value=None,
                 no_ln_pre=False, pool_type="tok", final_ln_after_pool=False, quick_gelu=False, eps=1e-5, in_chans=3):
        super().__init__()
        if pool_type not in ("tok", "avg", "none"):
            raise ValueError(f"VisionTransformer: pool_type must be 'tok', 'avg' or 'none', got {pool_type!r}")
        self.image_size, self.patch_size = _pair(image_size), _pair(patch_size)
        if self.image_size[0] % self.patch_size[0] or self.image_size[1] % self.patch_size[1]:
            raise ValueError(f"VisionTransformer: patch_size {patch_size} must divide image_size {image_size}")
        self.grid_size = (self.image_size[0] // self.patch_size[0], self.image_size[1] // self.patch_size[1])
        self.in_chans, self.width, self.output_dim = in_chans, width, output_dim
        self.pool_type, self.final_ln_after_pool = pool_type, final_ln_after_pool
        scale = width ** -0.5
        self.conv1 = nn.Conv2d(in_chans, width, kernel_size=self.patch_size, stride=self.patch_size, bias=False)
        n = self.grid_size[0] * self.grid_size[1] + 1
        self.class_embedding = nn.init.normal_(nn.Parameter(empty(width)), std=scale)
        self.positional_embedding = nn.init.normal_(nn.Parameter(empty(n, width)), std=scale)
        self.ln_pre = nn.Identity() if no_ln_pre else nn.LayerNorm(width, eps=eps)
        self.transformer = Transformer(width, layers, heads, mlp_ratio, ls_init_value, quick_gelu, eps)
        self.ln_post = nn.LayerNorm(width, eps=eps)
        self.proj = nn.init.normal_(nn.Parameter(empty(width, output_dim)), std=scale)
        self.feature_info = [dict(num_chs=width, reduction=self.patch_size[0], module=f"transformer.resblocks.{i}")
                             for i in range(layers)]

    def _check_input(self, x, who="encode_image"):
        want = (self.in_chans, *self.image_size)
        if not isinstance(x, Tensor):
            raise TypeError(f"CLIP.{who}: image must be a Tensor of shape (N, {', '.join(map(str, want))}), "
                            f"got {type(x).__name__}")
        if x.ndim != 4 or tuple(x.shape[1:]) != want:
            raise ValueError(f"CLIP.{who}: image must have shape (N, {', '.join(map(str, want))}) (the positional "
                             f"embedding fixes the size), got {tuple(x.shape)}")

    def _embeds(self, x):
        B = x.shape[0]
        x = self.conv1(x)                                                   # (B, width, gh, gw)
        x = x.reshape(B, self.width, -1).permute(0, 2, 1)                   # (B, gh*gw, width)
        cls = self.class_embedding.reshape(1, 1, -1).expand(B, 1, self.width).to(x.dtype)
        x = cat([cls, x], dim=1) + self.positional_embedding.to(x.dtype)    # (B, 1 + gh*gw, width)
        return self.ln_pre(x)

    def forward_features(self, x):
        """Tokens after the transformer, before pooling: (B, 1 + patches, width)."""
        self._check_input(x)
        return self.transformer(self._embeds(x))

    def forward_head(self, x, pre_logits: bool = False):
        """Pool (class token / mean of patches), ln_post, @ proj → (B, output_dim)."""
        if self.final_ln_after_pool:
            pooled = self.ln_post(self._global_pool(x))
        else:
            pooled = self._global_pool(self.ln_post(x))
        return pooled if pre_logits else pooled @ self.proj

    def _global_pool(self, x):
        if self.pool_type == "avg":
            return x[:, 1:].mean(dim=1)
        if self.pool_type == "tok":
            return x[:, 0]
        return x

    def forward(self, x):
        return self.forward_head(self.forward_features(x))

    def forward_intermediates(self, x, norm: bool = False):
        """Every block's patch tokens as a map (B, width, gh, gw), class token dropped (open_clip's
        NCHW intermediates); `norm` applies ln_post first."""
        self._check_input(x, "forward_intermediates")
        B = x.shape[0]
        x = self._embeds(x)
        outs = []
        for blk in self.transformer.resblocks:
            x = blk(x)
            y = self.ln_post(x) if norm else x
            outs.append(y[:, 1:].reshape(B, *self.grid_size, self.width).permute(0, 3, 1, 2))
        return outs

    def layer_groups(self):
        """open_clip's lock groups: embeddings, blocks but the last, last block + ln_post, proj."""
        blocks = list(self.transformer.resblocks)
        return ([("embed", [self.conv1, self.class_embedding, self.positional_embedding, self.ln_pre])]
                + [(f"resblocks.{i}", [b]) for i, b in enumerate(blocks[:-1])]
                + [(f"resblocks.{len(blocks) - 1}", [blocks[-1], self.ln_post]), ("proj", [self.proj])])

    def lock(self, unlocked_groups: int = 0, freeze_bn_stats: bool = False):
        """Freeze the tower but its top `unlocked_groups` groups (LiT, open_clip's lock)."""
        _lock([m for _, m in self.layer_groups()], unlocked_groups, "CLIP.lock_image_tower", "unlocked_groups")


def _params(items):
    for m in items:
        yield from (m.parameters() if isinstance(m, nn.Module) else [m])


def _lock(groups, unlocked, who, arg):
    if not isinstance(unlocked, int) or isinstance(unlocked, bool) or unlocked < 0:
        raise ValueError(f"{who}: {arg} must be an int >= 0, got {unlocked!r}")
    for p in _params([m for g in groups for m in g]):
        p.requires_grad = False
    for g in groups[len(groups) - min(unlocked, len(groups)):] if unlocked else []:
        for p in _params(g):
            p.requires_grad = True


class CLIP(ZooModel):
    """open_clip's CLIP: image tower `visual`, text tower unpacked onto the model, `logit_scale`."""

    default_cfg = dict(classifier=None, input_size=(3, 224, 224), family="clip", mean=OPENAI_DATASET_MEAN,
                       std=OPENAI_DATASET_STD)

    def __init__(self, embed_dim, vision_cfg=None, text_cfg=None, quick_gelu=False,
                 init_logit_scale=float(np.log(1 / 0.07)), init_logit_bias=None, nonscalar_logit_scale=False,
                 output_dict=False, num_classes=None):
        super().__init__()
        name = getattr(self, "model_name", None) or type(self).__name__
        if num_classes is not None:
            raise ValueError(f"{name}: num_classes does not apply to CLIP (it has no classifier); build one from "
                             f"class names with fg.models.clip.zero_shot_classifier(model, tokenizer, classnames)")
        if not isinstance(embed_dim, int) or isinstance(embed_dim, bool) or embed_dim < 1:
            raise ValueError(f"{name}: embed_dim must be a positive int, got {embed_dim!r}")
        v = _config(name, "vision_cfg", vision_cfg, _VISION_DEFAULTS, _VISION_FIXED)
        t = _config(name, "text_cfg", text_cfg, _TEXT_DEFAULTS, _TEXT_FIXED)
        if v["width"] % v["head_width"]:
            raise ValueError(f"{name}: vision_cfg head_width {v['head_width']} must divide width {v['width']}")
        if t["width"] % t["heads"]:
            raise ValueError(f"{name}: text_cfg heads {t['heads']} must divide width {t['width']}")
        if t["pool_type"] not in ("first", "last", "argmax", "eos", "none"):
            raise ValueError(f"{name}: text_cfg pool_type must be 'first', 'last', 'argmax', 'eos' or 'none', "
                             f"got {t['pool_type']!r}")
        if t["proj_type"] not in ("linear", "none"):
            raise ValueError(f"{name}: text_cfg proj_type must be 'linear' or 'none', got {t['proj_type']!r}")
        self.embed_dim, self.output_dict, self.quick_gelu = embed_dim, output_dict, quick_gelu
        self.vision_cfg, self.text_cfg = v, t
        v_eps = (v["norm_kwargs"] or {}).get("eps", 1e-5)
        t_eps = (t["norm_kwargs"] or {}).get("eps", 1e-5)

        self.visual = VisionTransformer(
            v["image_size"], v["patch_size"], v["width"], v["layers"], v["width"] // v["head_width"], v["mlp_ratio"],
            embed_dim, v["ls_init_value"], v["no_ln_pre"], v["pool_type"], v["final_ln_after_pool"], quick_gelu,
            v_eps, v["in_chans"])
        # the text tower, unpacked onto the model as open_clip's CLIP does
        self.context_length, self.vocab_size = t["context_length"], t["vocab_size"]
        self.text_pool_type, self.text_eos_id, self.causal = t["pool_type"], t["eos_id"], not t["no_causal_mask"]
        self.transformer = Transformer(t["width"], t["layers"], t["heads"], t["mlp_ratio"], t["ls_init_value"],
                                       quick_gelu, t_eps)
        self.token_embedding = nn.Embedding(t["vocab_size"], t["width"])
        self.positional_embedding = nn.Parameter(empty(t["context_length"], t["width"]))
        self.ln_final = nn.LayerNorm(t["width"], eps=t_eps)
        if t["proj_type"] == "none":
            self.text_projection = None
        elif t["proj_bias"]:
            self.text_projection = nn.Linear(t["width"], embed_dim)
        else:
            self.text_projection = nn.Parameter(empty(t["width"], embed_dim))
        mask = np.triu(np.full((self.context_length,) * 2, -np.inf, np.float32), 1) if self.causal else None
        self.register_buffer("attn_mask", Tensor(mask) if mask is not None else None, persistent=False)
        shape = (1,) if nonscalar_logit_scale else ()
        self.logit_scale = nn.Parameter(Tensor(np.full(shape, init_logit_scale, np.float32)))
        self.logit_bias = (nn.Parameter(Tensor(np.full(shape, init_logit_bias, np.float32)))
                           if init_logit_bias is not None else None)
        self._init_text()
        self.feature_info = [dict(d, module="visual." + d["module"]) for d in self.visual.feature_info]

    def _init_text(self):
        """open_clip's TextTransformer.init_parameters."""
        tr, w = self.transformer, self.transformer.width
        nn.init.normal_(self.token_embedding.weight, std=0.02)
        nn.init.normal_(self.positional_embedding, std=0.01)
        proj_std, attn_std, fc_std = w ** -0.5 * (2 * tr.layers) ** -0.5, w ** -0.5, (2 * w) ** -0.5
        for blk in tr.resblocks:
            nn.init.normal_(blk.attn.in_proj_weight, std=attn_std)
            nn.init.normal_(blk.attn.out_proj.weight, std=proj_std)
            nn.init.normal_(blk.mlp.c_fc.weight, std=fc_std)
            nn.init.normal_(blk.mlp.c_proj.weight, std=proj_std)
        if isinstance(self.text_projection, nn.Linear):
            nn.init.normal_(self.text_projection.weight, std=w ** -0.5)
            nn.init.zeros_(self.text_projection.bias)
        elif self.text_projection is not None:
            nn.init.normal_(self.text_projection, std=w ** -0.5)

    # ---- checkpoints --------------------------------------------------------------------------
    @classmethod
    def config_from_pretrained(cls, path) -> dict:
        """Factory kwargs from an open_clip hub directory's open_clip_config.json ("model_cfg")."""
        f = os.path.join(path, "open_clip_config.json")
        if not os.path.isfile(f):
            return {}
        with open(f, encoding="utf-8") as fh:
            cfg = json.load(fh).get("model_cfg", {})
        keep = ("embed_dim", "vision_cfg", "text_cfg", "quick_gelu", "init_logit_scale", "init_logit_bias",
                "nonscalar_logit_scale")
        return {k: v for k, v in cfg.items() if k in keep}

    @staticmethod
    def remap_state_dict(sd: dict, model) -> dict:
        """Drop what open_clip / OpenAI checkpoints carry beside the weights (the causal mask of
        older versions, OpenAI's input_resolution / context_length / vocab_size entries)."""
        extra = ("attn_mask", "input_resolution", "context_length", "vocab_size")
        return {k: v for k, v in sd.items() if k not in extra}

    # ---- towers -------------------------------------------------------------------------------
    def encode_image(self, image, normalize: bool = False):
        features = self.visual(image)                                          # (B, embed_dim)
        return F.normalize(features, dim=-1) if normalize else features

    def _text_ids(self, text, who="encode_text") -> Tensor:
        if isinstance(text, (list, tuple, np.ndarray)):
            text = Tensor(np.asarray(text))
        if not isinstance(text, Tensor):
            raise TypeError(f"CLIP.{who}: text must be token ids (N, L) as a Tensor or array, "
                            f"got {type(text).__name__}")
        if text.ndim != 2 or not 1 <= text.shape[1] <= self.context_length:
            raise ValueError(f"CLIP.{who}: text must be token ids of shape (N, L) with L <= context_length "
                             f"{self.context_length}, got {tuple(text.shape)}")
        if np.dtype(text.dtype).kind not in "iu":
            raise TypeError(f"CLIP.{who}: text must hold integer token ids, got dtype {text.dtype}")
        return text

    def encode_text(self, text, normalize: bool = False):
        """text: token ids (B, L), L <= context_length (open_clip pads to context_length; shorter
        inputs use the first L positions)."""
        text = self._text_ids(text)
        dev = self.token_embedding.weight.device
        ids = text.to(dev) if text.device != dev else text
        B, L = text.shape
        x = self.token_embedding(ids) + self.positional_embedding[:L]          # (B, L, width)
        x = self.transformer(x, causal=self.causal)
        x = self.ln_final(x)
        x = self._text_pool(x, text)                                           # (B, width)
        if isinstance(self.text_projection, nn.Linear):
            x = self.text_projection(x)
        elif self.text_projection is not None:
            x = x @ self.text_projection                                       # (B, embed_dim)
        return F.normalize(x, dim=-1) if normalize else x

    def _text_pool(self, x, text):
        kind = self.text_pool_type
        if kind == "first":
            return x[:, 0]
        if kind == "last":
            return x[:, -1]
        if kind == "none":
            return x
        ids = text._data if isinstance(text._data, np.ndarray) else text.numpy()  # one small readback on wgpu
        idx = ids.argmax(-1) if kind == "argmax" else (ids == self.text_eos_id).argmax(-1)
        return x[np.arange(x.shape[0]), idx]

    def forward(self, image=None, text=None):
        image_features = self.encode_image(image, normalize=True) if image is not None else None
        text_features = self.encode_text(text, normalize=True) if text is not None else None
        scale = self.logit_scale.exp()
        if self.output_dict:
            out = dict(image_features=image_features, text_features=text_features, logit_scale=scale)
            if self.logit_bias is not None:
                out["logit_bias"] = self.logit_bias
            return out
        if self.logit_bias is not None:
            return image_features, text_features, scale, self.logit_bias
        return image_features, text_features, scale

    def get_logits(self, image, text):
        """(logits_per_image (N_img, N_txt), logits_per_text) as open_clip."""
        img, txt = self.encode_image(image, normalize=True), self.encode_text(text, normalize=True)
        logits = self.logit_scale.exp() * img @ txt.T
        if self.logit_bias is not None:
            logits = logits + self.logit_bias
        return logits, logits.T

    # ---- ZooModel: the image tower is the "backbone" ---------------------------------------
    def forward_features(self, image):
        """Image tower tokens before pooling, (B, 1 + patches, width)."""
        return self.visual.forward_features(image)

    def forward_head(self, x, pre_logits: bool = False):
        """Pooled, projected image embedding (unnormalised, as encode_image)."""
        return self.visual.forward_head(x, pre_logits)

    def forward_intermediates(self, image, norm: bool = False):
        """Image tower block outputs as (B, width, gh, gw) maps (features_only=True)."""
        return self.visual.forward_intermediates(image, norm)

    def layer_groups(self):
        """Bottom to top, the two towers side by side: embeddings of both, block i of both, then
        the heads (ln_post, proj, ln_final, text_projection) with logit_scale (and logit_bias)."""
        v, t = list(self.visual.transformer.resblocks), list(self.transformer.resblocks)
        groups = [("embeddings", [self.visual.conv1, self.visual.class_embedding, self.visual.positional_embedding,
                                  self.visual.ln_pre, self.token_embedding, self.positional_embedding])]
        for i in range(max(len(v), len(t))):
            groups.append((f"blocks.{i}", v[i:i + 1] + t[i:i + 1]))
        head = [self.visual.ln_post, self.visual.proj, self.ln_final, self.logit_scale]
        head += [m for m in (self.text_projection, self.logit_bias) if m is not None]
        return groups + [("head", head)]

    def lock_image_tower(self, unlocked_groups: int = 0, freeze_bn_stats: bool = False):
        """Freeze the image tower but its top `unlocked_groups` groups (LiT; open_clip's groups:
        embeddings, each block, last block + ln_post, proj)."""
        self.visual.lock(unlocked_groups, freeze_bn_stats)

    def lock_text_tower(self, unlocked_layers: int = 0, freeze_layer_norm: bool = True):
        """Freeze the text tower but its top `unlocked_layers` groups (open_clip's groups:
        embeddings, each block, last block + ln_final, text_projection)."""
        if not freeze_layer_norm:
            raise ValueError("CLIP.lock_text_tower: freeze_layer_norm=False is not supported (as open_clip)")
        blocks = list(self.transformer.resblocks)
        groups = [[self.token_embedding, self.positional_embedding]] + [[b] for b in blocks[:-1]]
        groups.append([blocks[-1], self.ln_final])
        if self.text_projection is not None:
            groups.append([self.text_projection])
        _lock(groups, unlocked_layers, "CLIP.lock_text_tower", "unlocked_layers")


# ---- tokenizers -------------------------------------------------------------------------------

def _pack(seqs, context_length, sot, eot, pad=0) -> Tensor:
    """[sot] + ids + [eot], truncated to context_length with eot kept last (open_clip), 0-padded."""
    out = np.full((len(seqs), context_length), pad, dtype=np.int64)
    for i, ids in enumerate(seqs):
        ids = [sot, *ids, eot][:context_length]
        ids[-1] = eot
        out[i, : len(ids)] = ids
    return Tensor(out)


class CharTokenizer:
    """A byte-level tokenizer for CLIPs trained from scratch (`clip_tiny`): pad 0, UTF-8 byte b →
    b + 1, <sot> 257, <eot> 258 (the largest id, as CLIP's argmax pooling wants); vocab_size 259.
    Called like open_clip's tokenizers: `tok(texts, context_length=None)` → int64 (N, context_length)."""

    vocab_size, pad_id, sot_token_id, eot_token_id = 259, 0, 257, 258

    def __init__(self, context_length: int = 77, lower: bool = True):
        if not isinstance(context_length, int) or context_length < 2:
            raise ValueError(f"CharTokenizer: context_length must be an int >= 2, got {context_length!r}")
        self.context_length, self.lower = context_length, lower

    def encode(self, text: str) -> list[int]:
        if not isinstance(text, str):
            raise TypeError(f"CharTokenizer: texts must be str, got {type(text).__name__}")
        return [b + 1 for b in (text.lower() if self.lower else text).encode("utf-8")]

    def decode(self, ids) -> str:
        ids = [int(i) for i in np.asarray(getattr(ids, "_data", ids)).ravel()]
        return bytes(i - 1 for i in ids if 1 <= i <= 256).decode("utf-8", errors="replace")

    def __call__(self, texts, context_length: int | None = None) -> Tensor:
        texts = [texts] if isinstance(texts, str) else list(texts)
        return _pack([self.encode(t) for t in texts], context_length or self.context_length,
                     self.sot_token_id, self.eot_token_id)


class HFTokenizer:
    """A `tokenizers` tokenizer (tokenizer.json, e.g. a Hugging Face CLIP model directory's BPE one)
    in open_clip's calling convention: `tok(texts)` → int64 (N, context_length), <sot> … <eot>,
    truncated with <eot> kept last, padded with 0 as open_clip's SimpleTokenizer. The tokenizer's
    own post-processor adds <sot>/<eot> (CLIP's tokenizer.json does); `sot`/`eot` name the tokens
    when it does not."""

    def __init__(self, path, context_length: int = 77, sot: str = "<|startoftext|>", eot: str = "<|endoftext|>"):
        from tokenizers import Tokenizer

        f = os.path.join(path, "tokenizer.json") if os.path.isdir(path) else path
        if not os.path.isfile(f):
            raise FileNotFoundError(f"HFTokenizer: no tokenizer.json at {path!r}")
        self.tokenizer = Tokenizer.from_file(f)
        self.tokenizer.no_padding()
        self.tokenizer.no_truncation()
        self.context_length = context_length
        self.sot_token_id, self.eot_token_id = self.tokenizer.token_to_id(sot), self.tokenizer.token_to_id(eot)
        if self.sot_token_id is None or self.eot_token_id is None:
            raise ValueError(f"HFTokenizer: {f} has no {sot!r} / {eot!r} tokens; pass sot= and eot=")

    def __call__(self, texts, context_length: int | None = None) -> Tensor:
        texts = [texts] if isinstance(texts, str) else list(texts)
        seqs = []
        for enc in self.tokenizer.encode_batch(texts):
            ids = list(enc.ids)
            if ids and ids[0] == self.sot_token_id:
                ids = ids[1:]
            if ids and ids[-1] == self.eot_token_id:
                ids = ids[:-1]
            seqs.append(ids)
        return _pack(seqs, context_length or self.context_length, self.sot_token_id, self.eot_token_id)


# ---- zero-shot classification ---------------------------------------------------------------

def zero_shot_classifier(model: CLIP, tokenizer: Callable, classnames: Sequence[str],
                         templates: Sequence = ("a photo of a {}.",), num_classes_per_batch: int | None = 10):
    """Classifier weights (embed_dim, n_classes) from class names, as open_clip's
    build_zero_shot_classifier: per class, the normalised text embeddings of every template
    (format strings, or callables of the class name) are averaged and normalised again.
    `image_features @ weights` gives the zero-shot logits (scale by model.logit_scale.exp())."""
    who = "zero_shot_classifier"
    if not callable(getattr(model, "encode_text", None)):
        raise TypeError(f"{who}: model must be a CLIP (with encode_text), got {type(model).__name__}")
    if not callable(tokenizer):
        raise TypeError(f"{who}: tokenizer must be callable (list of str → token ids), "
                        f"got {type(tokenizer).__name__}")
    if isinstance(classnames, str) or not isinstance(classnames, Sequence) or not classnames:
        raise ValueError(f"{who}: classnames must be a non-empty sequence of str, got {classnames!r}")
    if isinstance(templates, str) or not isinstance(templates, Sequence) or not templates:
        raise ValueError(f"{who}: templates must be a non-empty sequence of format strings or callables, "
                         f"got {templates!r}")
    for tpl in templates:
        if not (callable(tpl) or (isinstance(tpl, str) and "{}" in tpl)):
            raise ValueError(f"{who}: each template must be a callable or a str with '{{}}', got {tpl!r}")
    n_t = len(templates)
    step = num_classes_per_batch or len(classnames)
    chunks = []
    with no_grad():
        for i in range(0, len(classnames), step):
            names = list(classnames[i:i + step])
            texts = [tpl.format(c) if isinstance(tpl, str) else tpl(c) for c in names for tpl in templates]
            emb = model.encode_text(tokenizer(texts), normalize=True)              # (C*T, D)
            emb = emb.reshape(len(names), n_t, -1).mean(dim=1)                     # (C, D)
            chunks.append(F.normalize(emb, dim=-1).T)                              # (D, C)
    return cat(chunks, dim=1) if len(chunks) > 1 else chunks[0]


# ---- registered models --------------------------------------------------------------------

_TEXT_BASE = dict(context_length=77, vocab_size=49408, width=512, heads=8, layers=12)


def _clip(name, embed_dim, vision_cfg, text_cfg, kwargs) -> CLIP:
    """open_clip's config merged with the caller's (vision_cfg / text_cfg dicts update the defaults)."""
    vision_cfg = {**vision_cfg, **(kwargs.pop("vision_cfg", None) or {})}
    text_cfg = {**text_cfg, **(kwargs.pop("text_cfg", None) or {})}
    model = CLIP(kwargs.pop("embed_dim", embed_dim), vision_cfg, text_cfg, **kwargs)
    model.model_name = name
    return model


@register_model
def clip_vit_b32(**kwargs) -> CLIP:
    """CLIP ViT-B/32 (open_clip names and config; 151 M parameters; quick_gelu=True for OpenAI weights)."""
    return _clip("clip_vit_b32", 512, dict(image_size=224, layers=12, width=768, patch_size=32), _TEXT_BASE, kwargs)


@register_model
def clip_vit_b16(**kwargs) -> CLIP:
    """CLIP ViT-B/16 (open_clip names and config; 150 M parameters)."""
    return _clip("clip_vit_b16", 512, dict(image_size=224, layers=12, width=768, patch_size=16), _TEXT_BASE, kwargs)


@register_model
def clip_vit_l14(**kwargs) -> CLIP:
    """CLIP ViT-L/14 (open_clip names and config; 428 M parameters)."""
    return _clip("clip_vit_l14", 768, dict(image_size=224, layers=24, width=1024, patch_size=14),
                 dict(_TEXT_BASE, width=768, heads=12), kwargs)


@register_model
def clip_tiny(**kwargs) -> CLIP:
    """Tiny CLIP: 32×32 images, CharTokenizer(context_length=32) text, 2 layers per tower (0.23 M parameters)."""
    return _clip("clip_tiny", 64, dict(image_size=32, patch_size=4, width=64, layers=2, head_width=32),
                 dict(context_length=32, vocab_size=CharTokenizer.vocab_size, width=64, heads=2, layers=2), kwargs)
