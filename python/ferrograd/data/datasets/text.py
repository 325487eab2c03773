"""A text corpus that needs no download: the Python standard library's own source code."""

from __future__ import annotations

import collections
import dataclasses
import numbers
import os
import re
import sysconfig
from dataclasses import dataclass, field

import numpy as np

from ...tensor import Tensor
from .. import _rng
from ..dataset import TensorDataset

_SKIP_DIRS = frozenset({"site-packages", "dist-packages", "__pycache__", "test", "tests", "idle_test"})
_WORD_RE = re.compile(r"\w+|[^\w\s]|\s+")  # every character lands in exactly one token
UNK = "<unk>"  # never a word token: '<' is always a token of its own


def stdlib_source_files(root=None):
    """Relative paths of the standard library's .py files, in a fixed order.

    Depth-first from the stdlib folder with each folder's entries sorted by name; third-party
    (site-packages) and test folders are skipped. Yields lazily, so a short corpus reads little.
    """
    root = sysconfig.get_paths()["stdlib"] if root is None else os.fspath(root)

    def walk(rel):
        with os.scandir(os.path.join(root, rel)) as it:
            entries = sorted(it, key=lambda e: e.name)
        for e in entries:
            path = f"{rel}/{e.name}" if rel else e.name
            if e.is_dir(follow_symlinks=False):
                if e.name not in _SKIP_DIRS:
                    yield from walk(path)
            elif e.name.endswith(".py") and e.is_file():
                yield path

    return walk("")


def _read_stdlib(max_chars, root=None):
    root = sysconfig.get_paths()["stdlib"] if root is None else os.fspath(root)
    parts, files, total = [], [], 0
    for rel in stdlib_source_files(root):
        try:
            with open(os.path.join(root, rel), encoding="utf-8") as f:
                src = f.read()
        except (UnicodeDecodeError, OSError):
            continue  # a handful of files are deliberately in other encodings
        if not src.strip():
            continue
        if not src.endswith("\n"):
            src += "\n"
        parts.append(src)
        files.append(rel)
        total += len(src)
        if max_chars is not None and total >= max_chars:
            break
    text = "".join(parts)
    return (text if max_chars is None else text[:max_chars]), files


def _tokenize(text, level):
    return list(text) if level == "char" else _WORD_RE.findall(text)


@dataclass(repr=False, eq=False)
class TextCorpus:
    """A tokenised text and its vocabulary.

    text: the corpus; level: 'char' or 'word'; itos: id -> token; stoi: token -> id;
    data: (T,) int64 Tensor, the whole text encoded; files: where the text came from.
    Word tokens are runs of word characters, single punctuation characters and runs of
    whitespace, so `decode(encode(s)) == s` for any text whose tokens are all in the vocabulary.
    """

    text: str
    level: str
    itos: list
    stoi: dict
    data: Tensor
    files: list = field(default_factory=list)

    def __repr__(self):
        return (f"TextCorpus(level={self.level!r}, chars={len(self.text)}, tokens={len(self)}, "
                f"vocab_size={self.vocab_size}, files={len(self.files)})")

    @property
    def vocab_size(self) -> int:
        return len(self.itos)

    def __len__(self):
        return self.data.shape[0]

    def tokenize(self, s: str) -> list:
        return _tokenize(s, self.level)

    def encode(self, s: str) -> list:
        """Token ids of `s`. Unknown tokens map to '<unk>' when the vocabulary has it, else raise."""
        unk = self.stoi.get(UNK)
        ids = []
        for tok in self.tokenize(s):
            i = self.stoi.get(tok, unk)
            if i is None:
                raise ValueError(f"encode: token {tok!r} is not in the vocabulary ({self.vocab_size} tokens)")
            ids.append(i)
        return ids

    def decode(self, ids) -> str:
        """The text of token ids (a list, numpy array or Tensor of ints)."""
        if isinstance(ids, Tensor):
            ids = ids._data
        ids = np.asarray(ids, dtype=np.int64).reshape(-1)
        if ids.size and (ids.min() < 0 or ids.max() >= self.vocab_size):
            raise ValueError(f"decode: ids must lie in [0, {self.vocab_size}), got {ids.min()}..{ids.max()}")
        return "".join(self.itos[i] for i in ids.tolist())

    def _check_block(self, block_size, stride):
        if isinstance(block_size, bool) or not isinstance(block_size, numbers.Integral) or block_size < 1:
            raise ValueError(f"block_size must be a positive int, got {block_size!r}")
        stride = block_size if stride is None else stride
        if isinstance(stride, bool) or not isinstance(stride, numbers.Integral) or stride < 1:
            raise ValueError(f"stride must be a positive int, got {stride!r}")
        if len(self) < block_size + 1:
            raise ValueError(f"the corpus has {len(self)} tokens, too few for one window of block_size {block_size}")
        return int(block_size), int(stride)

    def windows(self, block_size: int, stride: int | None = None):
        """Yield next-token pairs (x, y): x = data[i:i+block_size], y = data[i+1:i+block_size+1],
        both (block_size,) int64 Tensors, for i = 0, stride, 2*stride, ... (stride defaults to
        block_size: non-overlapping windows)."""
        block_size, stride = self._check_block(block_size, stride)
        d = self.data._data
        for i in range(0, len(d) - block_size, stride):
            yield Tensor._wrap(d[i:i + block_size].copy()), Tensor._wrap(d[i + 1:i + block_size + 1].copy())

    def window_dataset(self, block_size: int, stride: int | None = None) -> TensorDataset:
        """The windows of `windows` as a TensorDataset of x (M, block_size), y (M, block_size)."""
        block_size, stride = self._check_block(block_size, stride)
        view = np.lib.stride_tricks.sliding_window_view(self.data._data, block_size + 1)[::stride]
        return TensorDataset(Tensor._wrap(np.ascontiguousarray(view[:, :-1])),
                             Tensor._wrap(np.ascontiguousarray(view[:, 1:])))

    def random_batch(self, batch_size: int, block_size: int, generator=None):
        """(x, y), each (batch_size, block_size) int64, from random offsets (nanoGPT's get_batch).
        `generator`: None (ferrograd's), an int seed or a numpy Generator."""
        block_size, _ = self._check_block(block_size, None)
        rng = _rng.resolve(generator, "random_batch")
        starts = rng.integers(0, len(self) - block_size, size=int(batch_size))
        idx = starts[:, None] + np.arange(block_size + 1)
        w = self.data._data[idx]
        return Tensor._wrap(np.ascontiguousarray(w[:, :-1])), Tensor._wrap(np.ascontiguousarray(w[:, 1:]))

    def split(self, val_fraction: float = 0.1):
        """(train, val) corpora sharing this vocabulary: the first and last parts of the tokens."""
        if not 0.0 < float(val_fraction) < 1.0:
            raise ValueError(f"split: val_fraction must lie in (0, 1), got {val_fraction!r}")
        k = int(round(len(self) * (1.0 - float(val_fraction))))
        d = self.data._data
        return tuple(dataclasses.replace(self, text=self.decode(part), data=Tensor._wrap(part.copy()))
                     for part in (d[:k], d[k:]))


def _vocabulary(tokens, level, max_vocab):
    counts = collections.Counter(tokens)
    if max_vocab is None or len(counts) <= max_vocab:
        return sorted(counts)
    if max_vocab < 2:
        raise ValueError(f"load_text_corpus: max_vocab must be >= 2 (one slot is '{UNK}'), got {max_vocab}")
    kept = sorted(counts, key=lambda t: (-counts[t], t))[:max_vocab - 1]
    return [UNK] + sorted(kept)


def _encode_all(text, tokens, itos, level):
    if level == "char" and UNK not in itos:
        codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
        vocab = np.frombuffer("".join(itos).encode("utf-32-le"), dtype=np.uint32)  # sorted by code point
        return np.searchsorted(vocab, codes).astype(np.int64)
    stoi = {s: i for i, s in enumerate(itos)}
    unk = stoi.get(UNK, -1)
    return np.fromiter((stoi.get(t, unk) for t in tokens), dtype=np.int64, count=len(tokens))


def load_text_corpus(level: str = "char", max_chars: int | None = 1_000_000, max_vocab: int | None = None,
                     root=None) -> TextCorpus:
    """The standard library's Python source as a training corpus (no download).

    Files come in the fixed order of `stdlib_source_files` (site-packages and tests skipped,
    undecodable files skipped) and are concatenated until `max_chars` characters (None: all of
    them, tens of MB). `level='char'` makes every distinct character a token; `level='word'`
    splits into words, punctuation and whitespace runs. `max_vocab` keeps only the most frequent
    tokens and maps the rest to '<unk>'. `root` reads another folder of .py files instead.
    Returns a `TextCorpus` (vocabulary, encode/decode, next-token windows).
    """
    if level not in ("char", "word"):
        raise ValueError(f"load_text_corpus: level must be 'char' or 'word', got {level!r}")
    if max_chars is not None and (isinstance(max_chars, bool) or not isinstance(max_chars, numbers.Integral)
                                  or max_chars < 1):
        raise ValueError(f"load_text_corpus: max_chars must be a positive int or None, got {max_chars!r}")
    text, files = _read_stdlib(max_chars, root)
    if not text:
        raise ValueError(f"load_text_corpus: found no readable .py files under {root or 'the stdlib'}")
    tokens = _tokenize(text, level)
    itos = _vocabulary(tokens, level, max_vocab)
    data = _encode_all(text, tokens, itos, level)
    return TextCorpus(text=text, level=level, itos=itos, stoi={s: i for i, s in enumerate(itos)},
                      data=Tensor._wrap(data), files=files)
