"""`AutoTokenizer`: a thin wrapper over the Hugging Face `tokenizers` package (the Rust tokenizer
transformers' fast tokenizers run), called as transformers' tokenizers are:

    tok = AutoTokenizer.from_pretrained("path/to/model_dir")        # reads tokenizer.json
    batch = tok(["a sentence", "another one"], padding=True, truncation=True, max_length=128,
                return_tensors="pt")                                  # "pt"/"fg": ferrograd tensors
    model(**batch)

The tokenization itself (normalizer, WordPiece/BPE model, [CLS]/[SEP] template) is whatever the
directory's tokenizer.json says; nothing of it is re-implemented here. Padding and truncation
baked into a tokenizer.json are ignored: each call says what it wants, as transformers does.
"""

from __future__ import annotations

import json
import os

import numpy as np

__all__ = ["AutoTokenizer", "BatchEncoding"]

_HUGE = int(1e30)  # transformers' "no limit" model_max_length
_TRUNCATION = {True: "longest_first", "longest_first": "longest_first", "only_first": "only_first",
               "only_second": "only_second"}
_SPECIAL = ("pad_token", "cls_token", "sep_token", "mask_token", "unk_token", "bos_token", "eos_token")


def _tokenizers():
    try:
        import tokenizers
    except ImportError:
        raise ImportError("AutoTokenizer needs the `tokenizers` package: pip install tokenizers") from None
    return tokenizers


class BatchEncoding(dict):
    """The tokenizer's output: a dict (input_ids, token_type_ids, attention_mask) whose fields also
    read as attributes; `.to(device)` moves tensor fields."""

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(f"BatchEncoding has no field {name!r} (fields: {list(self)})") from None

    def to(self, device):
        return BatchEncoding({k: (v.to(device) if hasattr(v, "to") and not isinstance(v, (list, np.ndarray)) else v)
                              for k, v in self.items()})


class AutoTokenizer:
    """A tokenizers.Tokenizer with transformers' call signature. Build it with `from_pretrained`
    (a model directory or a known name) or from a `tokenizers.Tokenizer` object."""

    def __init__(self, tokenizer, model_max_length: int | None = None, special_tokens: dict | None = None):
        tk = _tokenizers()
        if not isinstance(tokenizer, tk.Tokenizer):
            raise TypeError(f"AutoTokenizer: tokenizer must be a tokenizers.Tokenizer, got {type(tokenizer).__name__}")
        self._tok = tokenizer
        self.model_max_length = int(model_max_length) if model_max_length else _HUGE
        special = dict(special_tokens or {})
        pad = (tokenizer.padding or {}).get("pad_token")
        if "pad_token" not in special and pad:
            special["pad_token"] = pad
        for name in _SPECIAL:
            value = special.get(name)
            if isinstance(value, dict):  # {"content": "[PAD]", ...} in some tokenizer_config.json files
                value = value.get("content")
            setattr(self, name, value if value is not None and tokenizer.token_to_id(value) is not None else None)

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path, model_max_length: int | None = None):
        """From a directory with tokenizer.json (+ tokenizer_config.json / special_tokens_map.json),
        or one with only a BERT vocab.txt (then the `tokenizers` package's BertWordPieceTokenizer),
        or a known name (`fg.models.known_pretrained()`)."""
        from ._pretrained import resolve

        path = resolve(pretrained_model_name_or_path).path
        if os.path.isfile(path) and path.endswith(".json"):
            path = os.path.dirname(path) or "."
        if not os.path.isdir(path):
            raise ValueError(f"AutoTokenizer.from_pretrained: expected a model directory with tokenizer.json, "
                             f"got {path}")
        config = {}
        for name in ("special_tokens_map.json", "tokenizer_config.json"):
            file = os.path.join(path, name)
            if os.path.isfile(file):
                with open(file, encoding="utf-8") as f:
                    config.update(json.load(f))
        tk = _tokenizers()
        file = os.path.join(path, "tokenizer.json")
        if os.path.isfile(file):
            tokenizer = tk.Tokenizer.from_file(file)
        elif os.path.isfile(os.path.join(path, "vocab.txt")):
            from tokenizers.implementations import BertWordPieceTokenizer

            wp = BertWordPieceTokenizer(os.path.join(path, "vocab.txt"),
                                        lowercase=bool(config.get("do_lower_case", True)),
                                        strip_accents=config.get("strip_accents"),
                                        handle_chinese_chars=bool(config.get("tokenize_chinese_chars", True)))
            tokenizer = wp._tokenizer
        else:
            raise FileNotFoundError(f"AutoTokenizer.from_pretrained: {path} has neither tokenizer.json nor vocab.txt")
        limit = model_max_length if model_max_length is not None else config.get("model_max_length")
        return cls(tokenizer, limit, {k: config.get(k) for k in _SPECIAL})

    # ---- ids and tokens ----------------------------------------------------------------------
    @property
    def vocab_size(self) -> int:
        return self._tok.get_vocab_size(with_added_tokens=False)

    def __len__(self) -> int:
        return self._tok.get_vocab_size(with_added_tokens=True)

    def get_vocab(self) -> dict:
        return self._tok.get_vocab(with_added_tokens=True)

    def __getattr__(self, name):  # pad_token_id, cls_token_id, ... from the tokens
        if name.endswith("_token_id") and name[:-3] in _SPECIAL:
            token = self.__dict__.get(name[:-3])
            return None if token is None else self._tok.token_to_id(token)
        raise AttributeError(f"AutoTokenizer has no attribute {name!r}")

    def tokenize(self, text: str, add_special_tokens: bool = False) -> list[str]:
        self._reset()
        return self._tok.encode(_check_text(text, "text"), add_special_tokens=add_special_tokens).tokens

    def convert_tokens_to_ids(self, tokens):
        if isinstance(tokens, str):
            return self._tok.token_to_id(tokens)
        return [self._tok.token_to_id(t) for t in tokens]

    def convert_ids_to_tokens(self, ids):
        if isinstance(ids, (int, np.integer)):
            return self._tok.id_to_token(int(ids))
        return [self._tok.id_to_token(int(i)) for i in _as_list(ids)]

    def encode(self, text, text_pair=None, add_special_tokens: bool = True, truncation=None,
               max_length=None) -> list[int]:
        return self(text, text_pair, add_special_tokens=add_special_tokens, truncation=truncation,
                    max_length=max_length)["input_ids"]

    def decode(self, token_ids, skip_special_tokens: bool = False) -> str:
        return self._tok.decode([int(i) for i in _as_list(token_ids)], skip_special_tokens=skip_special_tokens)

    def batch_decode(self, sequences, skip_special_tokens: bool = False) -> list[str]:
        return [self.decode(s, skip_special_tokens) for s in _as_list(sequences)]

    # ---- the call ----------------------------------------------------------------------------
    def __call__(self, text, text_pair=None, add_special_tokens: bool = True, padding=False, truncation=None,
                 max_length: int | None = None, pad_to_multiple_of: int | None = None, return_tensors=None,
                 return_token_type_ids: bool | None = None, return_attention_mask: bool | None = None,
                 padding_side: str = "right") -> BatchEncoding:
        """transformers' tokenizer call. text: a str or a list of str (a batch); text_pair: the second
        sentences of pairs. padding: False, True / "longest", "max_length". truncation: False, True /
        "longest_first", "only_first", "only_second" (max_length defaults to model_max_length).
        return_tensors: None (lists), "np", or "pt" / "fg" (ferrograd int64 tensors)."""
        batched = isinstance(text, (list, tuple))
        texts = list(text) if batched else [text]
        for i, t in enumerate(texts):
            _check_text(t, f"text[{i}]" if batched else "text")
        if text_pair is not None:
            pairs = list(text_pair) if isinstance(text_pair, (list, tuple)) else [text_pair]
            if len(pairs) != len(texts) or batched != isinstance(text_pair, (list, tuple)):
                raise ValueError(f"AutoTokenizer: text_pair must match text (a str for a str, a list of the same "
                                 f"length for a list), got {len(pairs)} pairs for {len(texts)} texts")
            for i, t in enumerate(pairs):
                _check_text(t, f"text_pair[{i}]")
            inputs = list(zip(texts, pairs))
        else:
            inputs = texts
        pad_mode = {False: None, "do_not_pad": None, True: "longest", "longest": "longest",
                    "max_length": "max_length"}.get(padding, "bad") if isinstance(padding, (bool, str)) else "bad"
        if pad_mode == "bad":
            raise ValueError(f"AutoTokenizer: padding must be False, True, 'longest', 'max_length' or 'do_not_pad', "
                             f"got {padding!r}")
        if truncation is None:  # transformers: max_length alone turns truncation on
            truncation = max_length is not None and pad_mode != "max_length"
        if truncation not in (False, "do_not_truncate") and truncation not in _TRUNCATION:
            raise ValueError(f"AutoTokenizer: truncation must be a bool, 'longest_first', 'only_first', 'only_second' "
                             f"or 'do_not_truncate', got {truncation!r}")
        if max_length is not None and (not isinstance(max_length, int) or isinstance(max_length, bool)
                                       or max_length < 1):
            raise ValueError(f"AutoTokenizer: max_length must be an int >= 1, got {max_length!r}")
        limit = max_length if max_length is not None else self.model_max_length
        if padding_side not in ("right", "left"):
            raise ValueError(f"AutoTokenizer: padding_side must be 'right' or 'left', got {padding_side!r}")

        self._reset()
        if truncation not in (False, "do_not_truncate") and limit < _HUGE:
            self._tok.enable_truncation(limit, strategy=_TRUNCATION[truncation])
        if pad_mode is not None:
            if self.pad_token is None:
                raise ValueError("AutoTokenizer: padding needs a pad token, and this tokenizer has none")
            if pad_mode == "max_length" and limit >= _HUGE:
                raise ValueError("AutoTokenizer: padding='max_length' needs max_length (the tokenizer has no "
                                 "model_max_length)")
            self._tok.enable_padding(direction=padding_side, pad_id=self._tok.token_to_id(self.pad_token),
                                     pad_token=self.pad_token, length=limit if pad_mode == "max_length" else None,
                                     pad_to_multiple_of=pad_to_multiple_of)
        encodings = self._tok.encode_batch(inputs, add_special_tokens=add_special_tokens) if inputs else []
        out = {"input_ids": [e.ids for e in encodings]}
        if return_token_type_ids is not False:
            out["token_type_ids"] = [e.type_ids for e in encodings]
        if return_attention_mask is not False:
            out["attention_mask"] = [e.attention_mask for e in encodings]
        if not batched:
            out = {k: v[0] for k, v in out.items()}
        return BatchEncoding({k: _convert(k, v, return_tensors, batched) for k, v in out.items()})

    def _reset(self):
        # tokenizer.json may carry padding/truncation of its own (all-MiniLM-L6-v2's pads to 128):
        # each call decides, as transformers does.
        self._tok.no_truncation()
        self._tok.no_padding()

    def __repr__(self):
        return (f"AutoTokenizer(vocab_size={self.vocab_size}, model_max_length={self.model_max_length}, "
                f"pad_token={self.pad_token!r})")


def _check_text(t, name):
    if not isinstance(t, str):
        raise TypeError(f"AutoTokenizer: {name} must be a str, got {type(t).__name__}")
    return t


def _as_list(ids):
    if hasattr(ids, "tolist"):
        return ids.tolist()
    return list(ids)


def _convert(name, rows, return_tensors, batched):
    if return_tensors is None:
        return rows
    if return_tensors not in ("np", "pt", "fg"):
        raise ValueError(f"AutoTokenizer: return_tensors must be None, 'np', 'pt' or 'fg', got {return_tensors!r}")
    lengths = {len(r) for r in rows} if batched else {len(rows)}
    if len(lengths) > 1:
        raise ValueError(f"AutoTokenizer: the sequences have different lengths ({sorted(lengths)}), so they do not "
                         f"form one {name} tensor; pass padding=True (and truncation=True)")
    arr = np.asarray(rows, dtype=np.int64).reshape(len(rows) if batched else 1, -1 if rows else 0)
    if return_tensors == "np":
        return arr
    from ..tensor import Tensor

    return Tensor(arr)
