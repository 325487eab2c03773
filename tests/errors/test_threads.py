"""Concurrent backward into one shared parameter accumulates every contribution (as PyTorch
guarantees, for Hogwild training and threaded serving). Without the accumulation lock about one
trial in ten loses an update here (numpy drops the GIL inside the 4 MB gradient add); 80 trials."""

import threading

import numpy as np

import ferrograd as fg


def test_two_threads_backward_into_a_shared_parameter_lose_no_update():
    rng = np.random.default_rng(0)
    w = fg.tensor(rng.standard_normal((1024, 1024)).astype(np.float32), requires_grad=True)
    inputs = [fg.tensor(rng.standard_normal((8, 1024)).astype(np.float32)) for _ in range(2)]

    def contribution(x):
        w.grad = None
        (x @ w).sum().backward()
        return w.grad.numpy().copy()

    want = sum(contribution(x) for x in inputs)
    steps = 10
    for trial in range(80):
        w.grad = None
        barrier = threading.Barrier(2)

        def work(x):
            barrier.wait()
            for _ in range(steps):
                (x @ w).sum().backward()

        threads = [threading.Thread(target=work, args=(x,)) for x in inputs]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        np.testing.assert_allclose(w.grad.numpy(), steps * want, rtol=1e-4, atol=1e-2,
                                   err_msg=f"trial {trial}: a gradient update was lost")
