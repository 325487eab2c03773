"""Training steps of the two large models, float32, train mode; few rounds (each step takes ~0.1–1 s):

  resnet18   torchvision's resnet18 (default 7×7 stem, and the small 3×3 stem), 10 classes, batch 32 × 3×32×32,
             forward + cross-entropy + backward + SGD(lr 0.1, momentum 0.9)
  minilm     BertForSequenceClassification at MiniLM size (6 layers, 384 wide, 12 heads, 1536 inner),
             batch 16 × 64 tokens with padding, AdamW(2e-5), dropout on (as benches/bench_models_bert.py)

PyTorch needs torchvision / transformers for these (skipped otherwise).
"""

from __future__ import annotations

import numpy as np
import pytest

FG_TORCH = ["ferrograd", "torch"]
pytestmark = pytest.mark.benchmark(group="train_step_large")
ROUNDS = 3

MINILM = dict(vocab_size=30522, hidden_size=384, num_hidden_layers=6, num_attention_heads=12, intermediate_size=1536,
              num_labels=2)


def bert_batch(b=16, t=64, seed=0):
    """Token ids (b, t) with [CLS] first and zero padding past each row's length (t/2..t), mask, labels."""
    rng = np.random.default_rng(seed)
    ids = rng.integers(1000, 30000, size=(b, t)).astype(np.int64)
    lengths = rng.integers(t // 2, t + 1, size=b)
    mask = (np.arange(t)[None, :] < lengths[:, None]).astype(np.int64)
    ids[:, 0], ids[mask == 0] = 101, 0
    return ids, mask, rng.integers(0, 2, size=b).astype(np.int64)


def resnet_step(lib, stem):
    if lib == "torch":
        import torch as T
        torchvision = pytest.importorskip("torchvision")
        model = torchvision.models.resnet18(num_classes=10)
        if stem == "small":
            model.conv1 = T.nn.Conv2d(3, 64, 3, 1, 1, bias=False)
            model.maxpool = T.nn.Identity()
    else:
        import ferrograd as T
        model = T.models.create_model("resnet18", num_classes=10, stem=stem)
    rng = np.random.default_rng(0)
    x = T.tensor(rng.standard_normal((32, 3, 32, 32), dtype=np.float32))
    y = T.tensor(rng.integers(0, 10, 32))
    opt = T.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    model.train()

    def step():
        opt.zero_grad()
        T.nn.functional.cross_entropy(model(x), y).backward()
        opt.step()

    return step


def minilm_step(lib):
    if lib == "torch":
        import torch as T
        transformers = pytest.importorskip("transformers")
        model = transformers.BertForSequenceClassification(transformers.BertConfig(**MINILM))
    else:
        import ferrograd as T
        from ferrograd.models.bert import BertConfig, BertForSequenceClassification
        model = BertForSequenceClassification(BertConfig(**MINILM))
    model.train()
    opt = T.optim.AdamW(model.parameters(), lr=2e-5)
    ids, mask, labels = (T.tensor(a) for a in bert_batch())

    def step():
        opt.zero_grad()
        model(ids, attention_mask=mask, labels=labels).loss.backward()
        opt.step()

    return step


@pytest.fixture
def step(lib, case):
    return minilm_step(lib) if case == "minilm" else resnet_step(lib, case.removeprefix("resnet18_"))


@pytest.mark.parametrize("case", ["resnet18_default", "resnet18_small", "minilm"])
@pytest.mark.parametrize("lib", FG_TORCH, indirect=True)
def test_train_step_large(bench, step, case):
    bench(step, rounds=ROUNDS)
