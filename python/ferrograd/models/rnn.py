"""LSTM/GRU sequence classifiers and language models, with torch.nn's state_dict names.

    RNNClassifier:     [embedding] -> rnn (LSTM/GRU, batch_first) -> pool -> dropout -> fc
    RNNLanguageModel:  embedding -> dropout -> rnn -> dropout -> fc (vocab logits; fc.weight tied to
                       embedding.weight with tie_weights=True, as pytorch/examples word_language_model)

Keys: embedding.weight, rnn.weight_ih_l0, rnn.weight_hh_l0, rnn.bias_ih_l0, rnn.bias_hh_l0 (+ _reverse,
l1, ...), fc.weight, fc.bias — exactly those of the same plain torch.nn module (the reference in
tests/fixtures/gen/models/gen_small_families.py), so weights move between the two by name.

Inputs are batch-first: token ids (B, T) when the model has an embedding (`vocab_size`), or dense
features (B, T, input_size) when it has none (`input_size`). Padded batches pass `lengths` (one per
sequence): the RNN then runs packed, so padding never reaches a state or a pooled feature.

Classifier: forward(x, lengths=None) -> logits (B, num_classes); forward_features -> the top layer's
outputs (B, T, D * hidden_size); forward_head pools them: "last" concatenates the top layer's final
state of each direction (forward at each sequence's last step, backward at step 0: torch's
h_n[-2:]), "mean" averages over each sequence's steps (all T without lengths).

Language model: forward(idx, hx=None) -> (logits (B, T, vocab_size), final state) as pytorch/examples'
RNNModel (the state carries a sequence across chunks); generate(idx, max_new_tokens, temperature,
top_k, generator) samples as nanoGPT's. Its fc is no resizable classifier (default_cfg classifier
None); reset_classifier(n) still gives a fresh, untied Linear(hidden_size, n).
"""

from __future__ import annotations

import numpy as np

from .. import nn
from ..nn import functional as F
from ..nn.utils.rnn import pack_padded_sequence, pad_packed_sequence
from ..tensor import Tensor, cat
from ._base import ZooModel
from ._registry import register_model

_CELLS = {"lstm": nn.LSTM, "gru": nn.GRU}


def _check_int(model, name, v, low=1, none_ok=False):
    if v is None and none_ok:
        return
    if not isinstance(v, (int, np.integer)) or isinstance(v, bool):
        raise TypeError(f"{model}: {name} must be an int, got {type(v).__name__} {v!r}")
    if v < low:
        raise ValueError(f"{model}: {name} must be >= {low}, got {v}")


def _check_dropout(model, p):
    if not isinstance(p, (int, float)) or isinstance(p, bool) or not 0 <= p < 1:
        raise ValueError(f"{model}: dropout must be a probability in [0, 1), got {p!r}")


def _make_rnn(model, cell, input_size, hidden_size, num_layers, dropout, bidirectional=False):
    if cell not in _CELLS:
        raise ValueError(f"{model}: cell must be 'lstm' or 'gru', got {cell!r}")
    # torch applies `dropout` only between stacked layers (and warns for one layer): pass it only then
    return _CELLS[cell](input_size, hidden_size, num_layers, batch_first=True,
                        dropout=dropout if num_layers > 1 else 0.0, bidirectional=bidirectional)


def _check_ids(model, x):
    if not isinstance(x, Tensor):
        raise TypeError(f"{model}: input must be a Tensor of token ids (B, T), got {type(x).__name__}")
    if np.dtype(x.dtype).kind not in "iu" or x.ndim != 2:
        raise ValueError(f"{model}: input must be integer token ids of shape (B, T), got dtype {x.dtype} "
                         f"shape {tuple(x.shape)}")
    if x.shape[1] == 0:
        raise ValueError(f"{model}: input must hold at least one time step, got shape {tuple(x.shape)}")


def _lengths(model, lengths, batch, steps) -> np.ndarray | None:
    if lengths is None:
        return None
    raw = lengths.numpy() if isinstance(lengths, Tensor) else lengths
    n = np.asarray(raw)
    if n.dtype.kind not in "iu" or n.shape != (batch,):
        raise ValueError(f"{model}: lengths must be {batch} integers (one per sequence), got {raw!r}")
    if n.min() < 1 or n.max() > steps:
        raise ValueError(f"{model}: lengths must lie in [1, {steps}] (the padded length), got {n.tolist()}")
    return n.astype(np.int64)


class RNNClassifier(ZooModel):
    default_cfg = dict(classifier="fc", family="rnn", input="token ids (B, T) or features (B, T, input_size)")

    def __init__(self, cell: str = "lstm", vocab_size: int | None = None, input_size: int | None = None,
                 embed_dim: int = 128, hidden_size: int = 128, num_layers: int = 1, bidirectional: bool = False,
                 dropout: float = 0.0, pooling: str = "last", num_classes: int = 2, padding_idx: int | None = None):
        super().__init__()
        name = f"{cell}_classifier" if cell in _CELLS else "RNNClassifier"
        if (vocab_size is None) == (input_size is None):
            raise ValueError(f"{name}: give exactly one of vocab_size (token ids in, through an embedding) or "
                             f"input_size (dense features in), got vocab_size={vocab_size!r}, "
                             f"input_size={input_size!r}")
        for arg, v, low in (("vocab_size", vocab_size, 1), ("input_size", input_size, 1), ("embed_dim", embed_dim, 1),
                            ("hidden_size", hidden_size, 1), ("num_layers", num_layers, 1),
                            ("num_classes", num_classes, 0)):
            _check_int(name, arg, v, low, none_ok=arg in ("vocab_size", "input_size"))
        _check_dropout(name, dropout)
        if pooling not in ("last", "mean"):
            raise ValueError(f"{name}: pooling must be 'last' or 'mean', got {pooling!r}")
        self.model_name, self.cell, self.pooling = name, cell, pooling
        self.vocab_size, self.hidden_size, self.num_layers = vocab_size, hidden_size, num_layers
        self.num_directions = 2 if bidirectional else 1
        self.num_features = hidden_size * self.num_directions
        self.num_classes = num_classes
        if vocab_size is not None:
            self.embedding = nn.Embedding(vocab_size, embed_dim, padding_idx=padding_idx)
            input_size = embed_dim
        else:
            self.embedding = None
        self.input_size = input_size
        self.rnn = _make_rnn(name, cell, input_size, hidden_size, num_layers, dropout, bidirectional)
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(self.num_features, num_classes) if num_classes else nn.Identity()

    def _embed(self, x):
        if self.embedding is not None:
            _check_ids(self.model_name, x)
            return self.embedding(x)  # (B, T, E)
        if not isinstance(x, Tensor) or x.ndim != 3 or x.shape[2] != self.input_size:
            got = f"shape {tuple(x.shape)}" if isinstance(x, Tensor) else type(x).__name__
            raise ValueError(f"{self.model_name}: input must be features of shape (B, T, {self.input_size}), got {got}")
        return x

    def forward_features(self, x: Tensor, lengths=None) -> Tensor:
        """Top-layer RNN outputs (B, T, num_directions * hidden_size); zeros past each sequence's length."""
        x = self._embed(x)
        n = _lengths(self.model_name, lengths, x.shape[0], x.shape[1])
        if n is None:
            return self.rnn(x)[0]
        packed = pack_padded_sequence(x, n.tolist(), batch_first=True, enforce_sorted=False)
        out, _ = pad_packed_sequence(self.rnn(packed)[0], batch_first=True, total_length=x.shape[1])
        return out

    def pool(self, features: Tensor, lengths=None) -> Tensor:
        """(B, T, D*H) -> (B, D*H) by `self.pooling` (see the module docstring)."""
        b, t, _ = features.shape
        n = _lengths(self.model_name, lengths, b, t)
        if self.pooling == "mean":
            if n is None:
                return features.mean(1)
            return features.sum(1) / Tensor(n[:, None].astype(np.dtype(features.dtype))).to(features.device)
        h = self.hidden_size
        last = np.full(b, t - 1) if n is None else n - 1
        fwd = features[np.arange(b), last][:, :h]  # forward direction: each sequence's last valid step
        if self.num_directions == 1:
            return fwd
        return cat([fwd, features[:, 0, h:]], dim=1)  # backward direction: its final state is at step 0

    def forward_head(self, features: Tensor, pre_logits: bool = False, lengths=None) -> Tensor:
        x = self.dropout(self.pool(features, lengths))
        return x if pre_logits else self.fc(x)

    def forward(self, x: Tensor, lengths=None) -> Tensor:
        """Logits (B, num_classes); `lengths` (B,) for padded batches."""
        return self.forward_head(self.forward_features(x, lengths), lengths=lengths)

    def layer_groups(self):
        groups = [("embedding", [self.embedding])] if self.embedding is not None else []
        return groups + [("rnn", [self.rnn]), ("fc", [self.fc])]


class RNNLanguageModel(ZooModel):
    # classifier=None: fc is the vocabulary head, never resized to a checkpoint's (and a tied fc.weight is
    # no named parameter of its own, which create_model's head check would misread as a missing head)
    default_cfg = dict(classifier=None, family="rnn", input="token ids (B, T)")

    def __init__(self, cell: str = "lstm", vocab_size: int = 256, embed_dim: int = 256, hidden_size: int = 256,
                 num_layers: int = 2, dropout: float = 0.0, tie_weights: bool = False):
        super().__init__()
        name = f"{cell}_lm" if cell in _CELLS else "RNNLanguageModel"
        for arg, v in (("vocab_size", vocab_size), ("embed_dim", embed_dim), ("hidden_size", hidden_size),
                       ("num_layers", num_layers)):
            _check_int(name, arg, v)
        _check_dropout(name, dropout)
        if tie_weights and hidden_size != embed_dim:
            raise ValueError(f"{name}: tie_weights needs hidden_size == embed_dim (fc.weight is embedding.weight), "
                             f"got hidden_size={hidden_size}, embed_dim={embed_dim}")
        self.model_name, self.cell, self.vocab_size, self.hidden_size = name, cell, vocab_size, hidden_size
        self.num_features = hidden_size
        self.embedding = nn.Embedding(vocab_size, embed_dim)
        self.rnn = _make_rnn(name, cell, embed_dim, hidden_size, num_layers, dropout)
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(hidden_size, vocab_size)
        if tie_weights:
            self.fc.weight = self.embedding.weight

    def forward_features(self, idx: Tensor, hx=None):
        """(top-layer outputs (B, T, hidden_size), final state: h_n, or (h_n, c_n) for an LSTM)."""
        _check_ids(self.model_name, idx)
        return self.rnn(self.dropout(self.embedding(idx)), hx)

    def forward_head(self, features: Tensor, pre_logits: bool = False) -> Tensor:
        x = self.dropout(features)
        return x if pre_logits else self.fc(x)

    def forward(self, idx: Tensor, hx=None):
        """(logits (B, T, vocab_size), final state) as pytorch/examples' RNNModel: pass the state back in
        to continue a sequence (truncated backpropagation through time: detach it between chunks)."""
        out, state = self.forward_features(idx, hx)
        return self.forward_head(out), state

    def get_classifier(self):
        return self.fc

    def reset_classifier(self, num_classes: int) -> None:
        """A fresh, untied output layer hidden_size -> num_classes (to tag tokens, say); 0: features out."""
        if not isinstance(num_classes, int) or isinstance(num_classes, bool) or num_classes < 0:
            raise ValueError(f"{self.model_name}.reset_classifier: num_classes must be an int >= 0, "
                             f"got {num_classes!r}")
        self.fc = nn.Linear(self.hidden_size, num_classes).to(self.embedding.weight.device) if num_classes \
            else nn.Identity()
        self.num_classes = num_classes

    def layer_groups(self):
        return [("embedding", [self.embedding]), ("rnn", [self.rnn]), ("fc", [self.fc])]

    def generate(self, idx: Tensor, max_new_tokens: int, temperature: float = 1.0, top_k: int | None = None,
                 generator=None) -> Tensor:
        """Append `max_new_tokens` sampled tokens to idx (B, T), carrying the RNN state step by step
        (nanoGPT's arguments). temperature=0 picks the most likely token (greedy)."""
        from .. import multinomial, no_grad

        _check_ids(self.model_name, idx)
        _check_int(self.model_name, "max_new_tokens", max_new_tokens, 0)
        if not isinstance(temperature, (int, float)) or temperature < 0:
            raise ValueError(f"{self.model_name}.generate: temperature must be >= 0, got {temperature!r}")
        _check_int(self.model_name, "top_k", top_k, 1, none_ok=True)
        was_training = self.training
        self.eval()
        try:
            with no_grad():
                logits, state = self(idx)
                out = [idx]
                for _ in range(max_new_tokens):
                    last = logits[:, -1, :]  # (B, V)
                    if temperature == 0:
                        nxt = last.argmax(-1, keepdim=True)
                    else:
                        last = last / temperature
                        if top_k is not None and top_k < last.shape[-1]:
                            kth = last.topk(top_k, dim=-1)[0][:, -1:]
                            last = last.masked_fill(last < kth, float("-inf"))
                        nxt = multinomial(F.softmax(last, dim=-1), 1, generator=generator)
                    out.append(nxt.to(idx.dtype) if nxt.dtype != idx.dtype else nxt)
                    logits, state = self(out[-1], state)
            return cat(out, dim=1)
        finally:
            self.train(was_training)


def _no_num_classes(name, kwargs):
    if "num_classes" in kwargs:
        raise ValueError(f"{name}: num_classes does not apply to a language model (its output is vocab_size logits); "
                         f"got num_classes={kwargs['num_classes']!r}")


@register_model
def lstm_classifier(**kwargs) -> RNNClassifier:
    """LSTM sequence classifier (embedding or dense input; torch.nn names)."""
    if kwargs.get("input_size") is None:
        kwargs.setdefault("vocab_size", 10000)
    return RNNClassifier(cell="lstm", **kwargs)


@register_model
def gru_classifier(**kwargs) -> RNNClassifier:
    """GRU sequence classifier (embedding or dense input; torch.nn names)."""
    if kwargs.get("input_size") is None:
        kwargs.setdefault("vocab_size", 10000)
    return RNNClassifier(cell="gru", **kwargs)


@register_model
def lstm_lm(**kwargs) -> RNNLanguageModel:
    """LSTM language model (character/word level; optional weight tying)."""
    _no_num_classes("lstm_lm", kwargs)
    return RNNLanguageModel(cell="lstm", **kwargs)


@register_model
def gru_lm(**kwargs) -> RNNLanguageModel:
    """GRU language model (character/word level; optional weight tying)."""
    _no_num_classes("gru_lm", kwargs)
    return RNNLanguageModel(cell="gru", **kwargs)
