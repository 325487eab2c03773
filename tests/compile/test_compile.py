"""fg.compile: a captured training step replays bit-identical to the eager one, re-captures when
shapes or train/eval modes change, and refuses what it cannot replay with a clear error."""

import numpy as np
import pytest

import ferrograd as fg
from ferrograd import nn
from ferrograd.nn import functional as F


def batches(n, shape=(16, 8), classes=4, seed=0):
    r = np.random.default_rng(seed)
    return [(fg.tensor(r.standard_normal(shape, dtype=np.float32)), fg.tensor(r.integers(0, classes, shape[0])))
            for _ in range(n)]


def mlp(seed=0, dropout=0.0):
    fg.manual_seed(seed)
    layers = [nn.Linear(8, 32), nn.ReLU()]
    if dropout:
        layers.append(nn.Dropout(dropout))
    return nn.Sequential(*layers, nn.Linear(32, 32), nn.Tanh(), nn.Linear(32, 4))


def train_step(model, opt, clip=None, sched=None):
    def step(x, y):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        if clip is not None:
            nn.utils.clip_grad_norm_(model.parameters(), clip)
        opt.step()
        if sched is not None:
            sched.step()
        return loss

    return step


def run_both(make, data, seed=123):
    """The same model/optimizer twice; one trained eagerly, one through fg.compile, same RNG."""
    (m1, s1), (m2, s2) = make(), make()
    c2 = fg.compile(s2)
    for i, args in enumerate(data):
        fg.manual_seed(seed + i)
        l1 = s1(*args)
        fg.manual_seed(seed + i)
        l2 = c2(*args)
        assert l1.detach().numpy().tobytes() == l2.detach().numpy().tobytes(), f"loss differs at step {i}"
    return m1, m2, c2


def assert_same_state(m1, m2):
    for (k, a), (_, b) in zip(m1.state_dict().items(), m2.state_dict().items()):
        assert np.array_equal(a.numpy(), b.numpy()), k


def replays(c):
    return sum(len(e.programs) for e in c._entries.values())


@pytest.mark.parametrize("opt_name", ["Adam", "AdamW", "SGD"])
def test_mlp_step_replays_bit_identical(opt_name):
    def make():
        m = mlp()
        kw = {"momentum": 0.9} if opt_name == "SGD" else {}
        return m, train_step(m, getattr(fg.optim, opt_name)(m.parameters(), lr=1e-2, **kw))

    m1, m2, c = run_both(make, batches(12))
    assert replays(c) == 1  # captured once, replayed from the third call
    assert_same_state(m1, m2)


def test_dropout_batchnorm_clip_and_scheduler_replay():
    def make():
        fg.manual_seed(0)
        m = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.Dropout(0.3),
                          nn.Flatten(), nn.Linear(4 * 6 * 6, 3))
        opt = fg.optim.AdamW(m.parameters(), lr=1e-2)
        sched = fg.optim.lr_scheduler.StepLR(opt, step_size=3, gamma=0.5)
        return m, train_step(m, opt, clip=0.5, sched=sched)

    m1, m2, c = run_both(make, batches(10, shape=(8, 1, 6, 6), classes=3))
    assert replays(c) == 1
    assert_same_state(m1, m2)  # weights, running statistics and num_batches_tracked
    assert m2[1].num_batches_tracked.item() == 10


def test_the_step_does_not_run_python_after_capture():
    m = mlp()
    calls = []
    forward = m.forward
    m.forward = lambda x: (calls.append(1), forward(x))[1]
    step = fg.compile(train_step(m, fg.optim.Adam(m.parameters())))
    for x, y in batches(6):
        step(x, y)
    assert len(calls) == 2  # two captures, then replays


def test_shape_change_recaptures_and_old_program_is_kept():
    def make():
        m = mlp()
        return m, train_step(m, fg.optim.Adam(m.parameters(), lr=1e-2))

    data = batches(4) + batches(4, shape=(5, 8), seed=1) + batches(3, seed=2)
    m1, m2, c = run_both(make, data)
    assert replays(c) == 2
    assert_same_state(m1, m2)


def test_train_eval_switch_gets_its_own_program():
    fg.manual_seed(0)
    m = nn.Sequential(nn.Linear(8, 8), nn.Dropout(0.5), nn.Linear(8, 2))
    f = fg.compile(lambda x: m(x))
    x = fg.randn(4, 8)
    with fg.no_grad():
        m.eval()
        ref = m(x).numpy().copy()
        for _ in range(3):
            assert np.array_equal(f(x).numpy(), ref)
        m.train()
        outs = [f(x).numpy().copy() for _ in range(4)]
        m.eval()
        assert np.array_equal(f(x).numpy(), ref)
    assert not all(np.array_equal(o, ref) for o in outs)  # dropout is on again in training
    assert not np.array_equal(outs[2], outs[3])  # and draws a fresh mask on every replay


def test_inference_replay_matches_eager_with_new_inputs():
    m = mlp()
    f = fg.compile(m)
    with fg.no_grad():
        for x, _ in batches(5):
            assert np.array_equal(f(x).numpy(), m(x).numpy())
    assert replays(f) == 1
    assert len(list(f.parameters())) == 6  # a compiled module still answers its methods


def test_compiled_forward_differentiated_outside_runs_eagerly():
    m = mlp()
    f = fg.compile(m)
    for x, y in batches(4):
        m.zero_grad()
        F.cross_entropy(f(x), y).backward()
        g = m[0].weight.grad.numpy().copy()
        m.zero_grad()
        F.cross_entropy(m(x), y).backward()
        assert np.array_equal(g, m[0].weight.grad.numpy())
    assert replays(f) == 0


def test_manual_sgd_with_grad_none_and_inplace_updates():
    def make():
        m = mlp()

        def step(x, y):
            loss = F.cross_entropy(m(x), y)
            loss.backward()
            with fg.no_grad():
                for p in m.parameters():
                    p -= 0.1 * p.grad
                    p.grad = None
            return loss

        return m, step

    m1, m2, c = run_both(make, batches(8))
    assert replays(c) == 1
    assert_same_state(m1, m2)


def test_gradient_accumulation_outside_the_compiled_step():
    def make():
        m = mlp()
        opt = fg.optim.SGD(m.parameters(), lr=0.1)

        def fwd_bwd(x, y):
            loss = F.cross_entropy(m(x), y)
            loss.backward()
            return loss

        return m, opt, fwd_bwd

    (m1, o1, s1), (m2, o2, s2) = make(), make()
    c2 = fg.compile(s2)
    for i, (x, y) in enumerate(batches(12)):
        s1(x, y)
        c2(x, y)
        if i % 3 == 2:
            o1.step(); o1.zero_grad()
            o2.step(); o2.zero_grad()
    assert_same_state(m1, m2)


def test_reading_a_value_inside_the_step_is_a_clear_error():
    m = mlp()
    opt = fg.optim.SGD(m.parameters(), lr=0.1)

    @fg.compile
    def step(x, y):
        loss = F.cross_entropy(m(x), y)
        if loss.item() > 100:  # data-dependent Python control flow
            return loss
        loss.backward()
        opt.step()
        return loss

    x, y = batches(1)[0]
    with pytest.raises(fg.CompileError, match=r"item\(\)"):
        step(x, y)


def test_branch_on_a_tensor_is_a_clear_error():
    @fg.compile
    def f(x):
        return x * 2 if (x.sum() > 0) else x * 3

    with pytest.raises(fg.CompileError, match=r"bool\(\)"):
        f(fg.randn(3))


def test_an_op_returning_a_python_value_from_the_data_is_a_clear_error():
    @fg.compile
    def f(x):
        return x * 2 if fg.equal(x, x) else x

    with pytest.raises(fg.CompileError, match="equal"):
        f(fg.randn(3))


def test_ops_that_change_between_calls_are_a_clear_error():
    count = [0]

    @fg.compile
    def f(x):
        count[0] += 1
        return x * 2 if count[0] % 2 else x + 1  # a Python counter decides the op

    with pytest.raises(fg.CompileError, match="different ops"):
        for _ in range(4):
            f(fg.randn(3))


@pytest.mark.parametrize("what", ["create_graph", "grad", "hook", "post_accumulate_hook"])
def test_unsupported_autograd_features_raise(what):
    w = fg.randn(3, requires_grad=True)

    @fg.compile
    def f(x):
        y = (w * x).sum()
        if what == "create_graph":
            y.backward(create_graph=True)
        elif what == "grad":
            fg.autograd.grad(y, w)
        elif what == "post_accumulate_hook":  # what DistributedDataParallel hangs its all-reduce on
            handle = w.register_post_accumulate_grad_hook(lambda p: None)
            try:
                y.backward()
            finally:
                handle.remove()
        else:
            h = w * 1
            h.register_hook(lambda g: g)
            (h * x).sum().backward()
        return y

    with pytest.raises(fg.CompileError, match="cannot capture"):
        f(fg.randn(3))


def test_a_compiled_function_inside_a_compiled_step():
    def make():
        m = mlp()
        fwd = fg.compile(m)  # compiled on its own, then called inside the compiled step
        opt = fg.optim.SGD(m.parameters(), lr=0.1)
        with fg.no_grad():
            for x, _ in batches(3):
                fwd(x)  # the inner function has its own (inference) program by now

        def step(x, y):
            opt.zero_grad()
            loss = F.cross_entropy(fwd(x), y)
            loss.backward()
            opt.step()
            return loss

        return m, step

    m1, m2, c = run_both(make, batches(6))
    assert replays(c) == 1
    assert_same_state(m1, m2)


def test_module_hooks_are_refused():
    m = mlp()
    m[0].register_forward_hook(lambda mod, inp, out: None)
    with pytest.raises(fg.CompileError, match="hooks"):
        with fg.no_grad():
            fg.compile(m)(fg.randn(2, 8))


def test_compile_takes_torch_arguments_and_disable():
    f = fg.compile(lambda x: x * 2, mode="reduce-overhead", fullgraph=True, dynamic=False)
    assert np.array_equal(f(fg.ones(2)).numpy(), [2, 2])
    g = lambda x: x  # noqa: E731
    assert fg.compile(g, disable=True) is g
    with pytest.raises(TypeError, match="compile"):
        fg.compile(3)
