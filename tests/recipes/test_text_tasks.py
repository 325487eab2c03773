"""The docstring classification task that finetune_text and mlm_pretrain share (recipes/_text_tasks.py)."""

import numpy as np
import pytest

from ferrograd.recipes._text_tasks import FAMILIES, _first_sentence, docstring_task, stdlib_docstrings


def test_families_are_large_enough_and_disjoint():
    by_family = stdlib_docstrings()
    assert list(by_family) == list(FAMILIES)
    for fam, sentences in by_family.items():
        assert len(sentences) >= 100, (fam, len(sentences))   # room for 20 train + 40 test, any seed
        assert sentences == sorted(set(sentences))
        assert all(5 <= len(s.split()) <= 40 for s in sentences)
    seen = [s for sentences in by_family.values() for s in sentences]
    assert len(seen) == len(set(seen)), "a sentence must belong to one family only"


def test_first_sentence():
    assert _first_sentence("Return the path.\n\n    More text.") == "Return the path."
    assert _first_sentence("Join two\n    paths. Then more.") == "Join two paths."
    assert _first_sentence("No full stop here") == "No full stop here"


def test_task_split_is_balanced_disjoint_labelled_and_seeded():
    by_family = stdlib_docstrings()
    task = docstring_task(n_train=7, n_test=5, seed=3)
    assert task.classes == list(FAMILIES) and task.num_classes == len(FAMILIES)
    assert len(task.train_text) == 7 * task.num_classes and len(task.test_text) == 5 * task.num_classes
    np.testing.assert_array_equal(np.bincount(task.train_y), np.full(task.num_classes, 7))
    np.testing.assert_array_equal(np.bincount(task.test_y), np.full(task.num_classes, 5))
    assert not set(task.train_text) & set(task.test_text)
    for text, y in zip(task.train_text + task.test_text, np.concatenate([task.train_y, task.test_y])):
        assert text in by_family[task.classes[y]]
    again = docstring_task(n_train=7, n_test=5, seed=3)
    assert again.train_text == task.train_text and again.test_text == task.test_text
    assert docstring_task(n_train=7, n_test=5, seed=4).train_text != task.train_text


def test_task_bad_sizes():
    with pytest.raises(ValueError, match="docstring_task: n_train must be a positive int"):
        docstring_task(n_train=0)
    with pytest.raises(ValueError, match="fewer than n_train"):
        docstring_task(n_train=10_000)
