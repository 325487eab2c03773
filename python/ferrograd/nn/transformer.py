"""nn.Transformer and its encoder/decoder layers and stacks: PyTorch's arguments, submodule names
(so state_dict keys match torch's) and forward semantics."""

from __future__ import annotations

import copy

import numpy as np

from .. import autograd, dtypes
from ..tensor import Tensor, tensor
from . import functional as F
from . import init
from .activation import GELU, ReLU
from .attention import MultiheadAttention, causal_mask
from .container import ModuleList
from .dropout import Dropout
from .linear import Linear
from .module import Module
from .normalization import LayerNorm


def _activation(activation):
    """'relu', 'gelu' or a callable (a function or a module), as torch accepts."""
    if callable(activation):
        return activation
    if activation not in ("relu", "gelu"):
        raise ValueError(f"Transformer: activation must be 'relu', 'gelu' or a callable, got {activation!r}")
    return getattr(F, activation)


def _relu_or_gelu(activation) -> int:
    """torch's `activation_relu_or_gelu` flag: 1 relu, 2 gelu, 0 anything else."""
    if activation is F.relu or isinstance(activation, ReLU):
        return 1
    if activation is F.gelu or isinstance(activation, GELU):
        return 2
    return 0


def generate_square_subsequent_mask(sz: int, device=None, dtype=None) -> Tensor:
    """PyTorch's causal float mask (sz, sz): 0 on and below the diagonal, -inf above."""
    if not isinstance(sz, (int, np.integer)) or sz < 0:
        raise ValueError(f"generate_square_subsequent_mask: sz must be a non-negative int, got {sz!r}")
    return tensor(causal_mask(int(sz), dtypes.float32 if dtype is None else dtype), device=device)


class _FeedForwardBlock(Module):
    """The pieces every transformer layer shares: the MLP and the residual wiring."""

    def _init_ff(self, d_model, dim_feedforward, dropout, activation, layer_norm_eps, norm_first, bias, n_norms,
                 dtype):
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, dtype=dtype)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, dtype=dtype)
        self.norm_first = norm_first
        for i in range(1, n_norms + 1):
            setattr(self, f"norm{i}", LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype))
            setattr(self, f"dropout{i}", Dropout(dropout))
        self.activation_relu_or_gelu = _relu_or_gelu(_activation(activation))
        self.activation = _activation(activation)

    def _ff_block(self, x):
        return self.linear2(self.dropout(self.activation(self.linear1(x))))

    def _residual(self, x, block, norm):
        """Pre-norm: x + block(norm(x)); post-norm: norm(x + block(x))."""
        return x + block(norm(x)) if self.norm_first else norm(x + block(x))


class TransformerEncoderLayer(_FeedForwardBlock):
    def __init__(self, d_model: int, nhead: int, dim_feedforward: int = 2048, dropout: float = 0.1,
                 activation=F.relu, layer_norm_eps: float = 1e-5, batch_first: bool = False,
                 norm_first: bool = False, bias: bool = True, device=None, dtype=None):
        super().__init__()
        self.self_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias, batch_first=batch_first,
                                            dtype=dtype)
        self._init_ff(d_model, dim_feedforward, dropout, activation, layer_norm_eps, norm_first, bias, 2, dtype)
        if device is not None:
            self.to(device)

    def forward(self, src, src_mask=None, src_key_padding_mask=None, is_causal: bool = False):
        def sa(x):
            out = self.self_attn(x, x, x, attn_mask=src_mask, key_padding_mask=src_key_padding_mask,
                                 need_weights=False, is_causal=bool(is_causal))[0]
            return self.dropout1(out)

        x = self._residual(src, sa, self.norm1)
        return self._residual(x, lambda y: self.dropout2(self._ff_block(y)), self.norm2)


class TransformerDecoderLayer(_FeedForwardBlock):
    def __init__(self, d_model: int, nhead: int, dim_feedforward: int = 2048, dropout: float = 0.1,
                 activation=F.relu, layer_norm_eps: float = 1e-5, batch_first: bool = False,
                 norm_first: bool = False, bias: bool = True, device=None, dtype=None):
        super().__init__()
        self.self_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias, batch_first=batch_first,
                                            dtype=dtype)
        self.multihead_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias, batch_first=batch_first,
                                                 dtype=dtype)
        self._init_ff(d_model, dim_feedforward, dropout, activation, layer_norm_eps, norm_first, bias, 3, dtype)
        if device is not None:
            self.to(device)

    def forward(self, tgt, memory, tgt_mask=None, memory_mask=None, tgt_key_padding_mask=None,
                memory_key_padding_mask=None, tgt_is_causal: bool = False, memory_is_causal: bool = False):
        def sa(x):
            return self.dropout1(self.self_attn(x, x, x, attn_mask=tgt_mask, key_padding_mask=tgt_key_padding_mask,
                                                need_weights=False, is_causal=bool(tgt_is_causal))[0])

        def ca(x):
            return self.dropout2(self.multihead_attn(x, memory, memory, attn_mask=memory_mask,
                                                     key_padding_mask=memory_key_padding_mask, need_weights=False,
                                                     is_causal=bool(memory_is_causal))[0])

        x = self._residual(tgt, sa, self.norm1)
        x = self._residual(x, ca, self.norm2)
        return self._residual(x, lambda y: self.dropout3(self._ff_block(y)), self.norm3)


def _can_nest(layer) -> bool:
    """torch's conditions (TransformerEncoder.__init__) for running padded batches as nested tensors."""
    return (isinstance(layer, TransformerEncoderLayer) and not layer.norm_first and layer.self_attn.batch_first
            and layer.self_attn.in_proj_bias is not None and bool(layer.activation_relu_or_gelu)
            and layer.norm1.eps == layer.norm2.eps and layer.self_attn.num_heads % 2 == 0)


class TransformerEncoder(Module):
    """A stack of copies of `encoder_layer`, then `norm` if given.

    enable_nested_tensor: torch then runs an eval-mode, no-gradient, batch-first call with a
    right-padded src_key_padding_mask (and no mask) as a nested tensor, which returns zeros at the
    padded positions (before `norm`). ferrograd has no nested tensors; it computes the padded
    batch and zeroes those positions in the same cases, so outputs equal torch's.
    mask_check: as torch, the zeroing needs the padding to sit at the end of each row.
    """

    def __init__(self, encoder_layer, num_layers: int, norm=None, enable_nested_tensor: bool = True,
                 mask_check: bool = True):
        super().__init__()
        self.layers = ModuleList([copy.deepcopy(encoder_layer) for _ in range(num_layers)])
        self.num_layers = num_layers
        self.norm = norm
        self.enable_nested_tensor = enable_nested_tensor
        self.use_nested_tensor = enable_nested_tensor and _can_nest(encoder_layer)
        self.mask_check = mask_check

    def _nested_keep(self, src, mask, src_key_padding_mask):
        """The (B, S) positions torch's nested-tensor path keeps, or None when it would not take it."""
        if not self.use_nested_tensor or not self.layers or self.layers[0].training or src.ndim != 3:
            return None
        if src_key_padding_mask is None or mask is not None:
            return None
        first = self.layers[0]
        if autograd.is_grad_enabled() and (src.requires_grad or any(p.requires_grad for p in first.parameters())):
            return None
        pad = src_key_padding_mask.numpy() if isinstance(src_key_padding_mask, Tensor) else np.asarray(
            src_key_padding_mask)
        keep = ~pad if pad.dtype == np.bool_ else pad == 0
        if keep.shape != tuple(src.shape[:2]):
            return None  # MultiheadAttention reports the bad shape
        if self.mask_check and (keep[:, 1:] > keep[:, :-1]).any():
            return None  # not left aligned
        return keep

    def forward(self, src, mask=None, src_key_padding_mask=None, is_causal=None):
        keep = self._nested_keep(src, mask, src_key_padding_mask)
        x = src
        for layer in self.layers:
            x = layer(x, src_mask=mask, src_key_padding_mask=src_key_padding_mask, is_causal=bool(is_causal))
        if keep is not None:
            x = x * tensor(keep[..., None].astype(x.dtype), device=x.device)
        return self.norm(x) if self.norm is not None else x


class TransformerDecoder(Module):
    def __init__(self, decoder_layer, num_layers: int, norm=None):
        super().__init__()
        self.layers = ModuleList([copy.deepcopy(decoder_layer) for _ in range(num_layers)])
        self.num_layers = num_layers
        self.norm = norm

    def forward(self, tgt, memory, tgt_mask=None, memory_mask=None, tgt_key_padding_mask=None,
                memory_key_padding_mask=None, tgt_is_causal=None, memory_is_causal: bool = False):
        x = tgt
        for layer in self.layers:
            x = layer(x, memory, tgt_mask=tgt_mask, memory_mask=memory_mask,
                      tgt_key_padding_mask=tgt_key_padding_mask, memory_key_padding_mask=memory_key_padding_mask,
                      tgt_is_causal=bool(tgt_is_causal), memory_is_causal=bool(memory_is_causal))
        return self.norm(x) if self.norm is not None else x


class Transformer(Module):
    """The encoder-decoder transformer of "Attention Is All You Need" (torch.nn.Transformer)."""

    def __init__(self, d_model: int = 512, nhead: int = 8, num_encoder_layers: int = 6, num_decoder_layers: int = 6,
                 dim_feedforward: int = 2048, dropout: float = 0.1, activation=F.relu, custom_encoder=None,
                 custom_decoder=None, layer_norm_eps: float = 1e-5, batch_first: bool = False, norm_first: bool = False,
                 bias: bool = True, device=None, dtype=None):
        super().__init__()
        layer_kw = dict(dim_feedforward=dim_feedforward, dropout=dropout, activation=activation,
                        layer_norm_eps=layer_norm_eps, batch_first=batch_first, norm_first=norm_first, bias=bias,
                        dtype=dtype)
        if custom_encoder is not None:
            self.encoder = custom_encoder
        else:
            self.encoder = TransformerEncoder(TransformerEncoderLayer(d_model, nhead, **layer_kw), num_encoder_layers,
                                              LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype))
        if custom_decoder is not None:
            self.decoder = custom_decoder
        else:
            self.decoder = TransformerDecoder(TransformerDecoderLayer(d_model, nhead, **layer_kw), num_decoder_layers,
                                              LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype))
        self._reset_parameters()
        self.d_model, self.nhead, self.batch_first = d_model, nhead, batch_first
        if device is not None:
            self.to(device)

    def _reset_parameters(self):
        for p in self.parameters():
            if p.ndim > 1:
                init.xavier_uniform_(p)

    @staticmethod
    def generate_square_subsequent_mask(sz: int, device=None, dtype=None) -> Tensor:
        return generate_square_subsequent_mask(sz, device=device, dtype=dtype)

    def forward(self, src, tgt, src_mask=None, tgt_mask=None, memory_mask=None, src_key_padding_mask=None,
                tgt_key_padding_mask=None, memory_key_padding_mask=None, src_is_causal=None, tgt_is_causal=None,
                memory_is_causal: bool = False):
        for what, t in (("src", src), ("tgt", tgt)):
            if not isinstance(t, Tensor):
                raise TypeError(f"Transformer: {what} must be a Tensor, got {type(t).__name__}")
        batched = src.ndim == 3
        b = 0 if self.batch_first else 1
        if batched and (tgt.ndim != 3 or src.shape[b] != tgt.shape[b]):
            raise ValueError(f"Transformer: the batch number of src {tuple(src.shape)} and tgt {tuple(tgt.shape)} "
                             f"must be equal (batch_first={self.batch_first})")
        if src.shape[-1] != self.d_model or tgt.shape[-1] != self.d_model:
            raise ValueError(f"Transformer: the feature number of src {tuple(src.shape)} and tgt {tuple(tgt.shape)} "
                             f"must be equal to d_model={self.d_model}")
        memory = self.encoder(src, mask=src_mask, src_key_padding_mask=src_key_padding_mask, is_causal=src_is_causal)
        return self.decoder(tgt, memory, tgt_mask=tgt_mask, memory_mask=memory_mask,
                            tgt_key_padding_mask=tgt_key_padding_mask,
                            memory_key_padding_mask=memory_key_padding_mask, tgt_is_causal=tgt_is_causal,
                            memory_is_causal=memory_is_causal)
