"""fg.compile on wgpu: a captured training step (MLP with dropout and cross-entropy, Adam) replays
on the device with the eager step's results, and reads nothing back while it replays."""

import numpy as np

import ferrograd as fg
from ferrograd import nn
from ferrograd.nn import functional as F
from ferrograd.wgpu import runtime


def _setup():
    fg.manual_seed(0)
    m = nn.Sequential(nn.Linear(12, 32), nn.ReLU(), nn.Dropout(0.2), nn.Linear(32, 5)).to("wgpu")
    opt = fg.optim.Adam(m.parameters(), lr=1e-2)

    def step(x, y):
        opt.zero_grad()
        loss = F.cross_entropy(m(x), y)
        loss.backward()
        opt.step()
        return loss

    return m, step


def test_compiled_step_on_wgpu_matches_eager_and_reads_nothing_back():
    r = np.random.default_rng(0)
    data = [(fg.tensor(r.standard_normal((16, 12), dtype=np.float32), device="wgpu"),
             fg.tensor(r.integers(0, 5, 16), device="wgpu")) for _ in range(6)]
    (m1, s1), (m2, s2) = _setup(), _setup()
    c2 = fg.compile(s2)
    rt = runtime.get()
    l1, l2 = [], []
    for i, (x, y) in enumerate(data):
        fg.manual_seed(10 + i)
        l1.append(s1(x, y))
        fg.manual_seed(10 + i)
        reads = rt.reads
        l2.append(c2(x, y))
        if i >= 2:  # replays
            assert rt.reads == reads
    assert sum(len(e.programs) for e in c2._entries.values()) == 1
    np.testing.assert_array_equal([t.item() for t in l1], [t.item() for t in l2])
    for a, b in zip(m1.parameters(), m2.parameters()):
        np.testing.assert_array_equal(a.detach().cpu().numpy(), b.detach().cpu().numpy())
