"""A sentence classification task from real text that ships with Python: the standard library's
docstrings, labelled by the family of modules they document.

    task = docstring_task(n_train=20, n_test=30, seed=0)
    task.train_text[0], task.classes[task.train_y[0]]
    # ('Return a new path with the stem changed.', 'files')

Each sentence is the first sentence of the docstring of a public module, class or function
(parsed with `ast`, nothing is imported), 5–40 words long. A sentence that documents modules of
two families (e.g. "Return the value.") is dropped, so every label is unambiguous in the data —
though many sentences stay hard ("Close the connection." is networking, but could be email).
The stdlib of the running Python is read, so the exact sentences depend on its version.
"""

from __future__ import annotations

import ast
import functools
import os
import re
import sysconfig
from dataclasses import dataclass

import numpy as np

# family -> the stdlib modules / packages it covers (paths relative to the stdlib folder).
FAMILIES = {
    "files": ["pathlib.py", "posixpath.py", "ntpath.py", "genericpath.py", "shutil.py", "glob.py", "fnmatch.py",
              "tempfile.py", "filecmp.py", "fileinput.py", "os.py", "stat.py"],
    "network": ["urllib", "http", "socket.py", "socketserver.py", "ftplib.py", "smtplib.py", "imaplib.py",
                "poplib.py", "nntplib.py", "ssl.py", "ipaddress.py", "xmlrpc", "wsgiref"],
    "email": ["email", "mailbox.py", "mimetypes.py", "quopri.py"],
    "concurrency": ["threading.py", "multiprocessing", "asyncio", "concurrent", "queue.py", "sched.py",
                    "selectors.py", "subprocess.py"],
    "testing": ["unittest", "doctest.py", "pdb.py", "bdb.py", "traceback.py", "trace.py", "timeit.py",
                "profile.py", "cProfile.py", "pstats.py"],
    "numbers": ["_pydecimal.py", "fractions.py", "statistics.py", "random.py", "numbers.py"],
    "formats": ["json", "csv.py", "pickle.py", "pickletools.py", "configparser.py", "tomllib", "plistlib.py", "xml"],
    "gui": ["tkinter", "turtle.py"],
}
_SKIP_DIRS = frozenset({"test", "tests", "idle_test", "__pycache__"})
_DOCUMENTED = (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)
_SENTENCE = re.compile(r"(.+?[.!?])(\s|$)")


def _files(root, entry):
    path = os.path.join(root, entry)
    if os.path.isfile(path):
        yield path
        return
    for folder, dirs, names in os.walk(path):
        dirs[:] = sorted(d for d in dirs if d not in _SKIP_DIRS)  # sorted: a fixed order on every machine
        yield from (os.path.join(folder, n) for n in sorted(names) if n.endswith(".py"))


def _first_sentence(doc: str) -> str:
    text = " ".join(doc.strip().split("\n\n")[0].split())  # first paragraph, one line
    m = _SENTENCE.match(text)
    return m.group(1) if m else text


def _docstring_sentences(path):
    try:
        with open(path, encoding="utf-8") as f:
            tree = ast.parse(f.read())
    except (SyntaxError, UnicodeDecodeError, OSError, ValueError):
        return
    stack = [tree]
    while stack:  # only bodies of modules, classes and functions can hold docstrings
        node = stack.pop()
        stack += [n for n in reversed(node.body) if isinstance(n, _DOCUMENTED)]
        if not isinstance(node, ast.Module) and node.name.startswith("_"):
            continue  # private helpers: often terse notes, not documentation
        doc = ast.get_docstring(node)
        if doc:
            s = _first_sentence(doc)
            if 5 <= len(s.split()) <= 40 and s[0].isalpha() and ">>>" not in s:
                yield s


def stdlib_docstrings(families: dict | None = None, root=None) -> dict:
    """{family: sorted list of unique first sentences} for `families` (default FAMILIES), read
    from the standard library at `root` (default: the running Python's). Sentences found in more
    than one family are left out."""
    families = FAMILIES if families is None else families
    root = sysconfig.get_paths()["stdlib"] if root is None else os.fspath(root)
    key = tuple((fam, tuple(entries)) for fam, entries in families.items())
    return {fam: list(sentences) for fam, sentences in _read(root, key).items()}


@functools.lru_cache(maxsize=4)  # parsing takes about a second; recipes in one tour share it
def _read(root, families):
    found = {fam: {s for entry in entries for path in _files(root, entry) for s in _docstring_sentences(path)}
             for fam, entries in families}
    seen_in = {}
    for sentences in found.values():
        for s in sentences:
            seen_in[s] = seen_in.get(s, 0) + 1
    return {fam: tuple(sorted(s for s in sentences if seen_in[s] == 1)) for fam, sentences in found.items()}


@dataclass
class TextTask:
    """A labelled train/test split of sentences. *_y: int64 arrays of indices into `classes`."""

    train_text: list
    train_y: np.ndarray
    test_text: list
    test_y: np.ndarray
    classes: list

    @property
    def num_classes(self) -> int:
        return len(self.classes)


def docstring_task(n_train: int = 20, n_test: int = 30, seed: int = 0, families: dict | None = None,
                   root=None) -> TextTask:
    """`n_train` and `n_test` sentences per family, drawn without replacement by `seed` (the two
    sides never share a sentence), in a seeded random order."""
    for name, v in (("n_train", n_train), ("n_test", n_test)):
        if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < 1:
            raise ValueError(f"docstring_task: {name} must be a positive int, got {v!r}")
    by_family = stdlib_docstrings(families, root)
    rng = np.random.default_rng(seed)
    classes = list(by_family)
    train, test = [], []
    for label, fam in enumerate(classes):
        sentences = by_family[fam]
        if len(sentences) < n_train + n_test:
            raise ValueError(f"docstring_task: family {fam!r} has {len(sentences)} sentences, fewer than "
                             f"n_train + n_test = {n_train + n_test}")
        pick = rng.permutation(len(sentences))[:n_train + n_test]
        train += [(sentences[i], label) for i in pick[:n_train]]
        test += [(sentences[i], label) for i in pick[n_train:]]

    def shuffled(pairs):
        pairs = [pairs[i] for i in rng.permutation(len(pairs))]
        return [s for s, _ in pairs], np.array([y for _, y in pairs], dtype=np.int64)

    (train_text, train_y), (test_text, test_y) = shuffled(train), shuffled(test)
    return TextTask(train_text, train_y, test_text, test_y, classes)


# ---- code of stdlib packages, for "which package is this code from?" ------------------------

PACKAGES = ("asyncio", "email", "unittest", "xml", "multiprocessing", "tkinter", "http", "logging")


@dataclass
class PackageCode:
    """Word-level token ids of several stdlib packages' source in one shared vocabulary.

    itos: id -> token (id 0 is '<unk>'); tokens: {package: (N,) int64 ids, whitespace dropped}."""

    itos: list
    tokens: dict

    @property
    def vocab_size(self) -> int:
        return len(self.itos)


def stdlib_package_code(packages=PACKAGES, max_chars: int = 120_000, max_vocab: int = 4000, root=None) -> PackageCode:
    """The first `max_chars` characters of each package's source (fg.data.datasets.load_text_corpus
    with root=the package folder), split into word-level tokens; whitespace tokens are dropped
    and the `max_vocab` - 1 most frequent tokens over all packages are kept (others: '<unk>')."""
    from ..data.datasets import load_text_corpus

    root = sysconfig.get_paths()["stdlib"] if root is None else os.fspath(root)
    words = {}
    for pkg in packages:
        corpus = load_text_corpus("word", max_chars=max_chars, root=os.path.join(root, pkg))
        itos = np.array(corpus.itos, dtype=object)
        seq = itos[corpus.data.numpy()]
        words[pkg] = [w for w in seq.tolist() if not w.isspace()]
    counts = {}
    for seq in words.values():
        for w in seq:
            counts[w] = counts.get(w, 0) + 1
    kept = sorted(counts, key=lambda w: (-counts[w], w))[:max_vocab - 1]
    itos = ["<unk>"] + kept
    stoi = {w: i for i, w in enumerate(itos)}
    tokens = {pkg: np.fromiter((stoi.get(w, 0) for w in seq), dtype=np.int64, count=len(seq))
              for pkg, seq in words.items()}
    return PackageCode(itos, tokens)
