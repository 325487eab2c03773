"""layer_norm 8192×768 float32 forward + backward in a process of its own (issue 18, point 4: the
page-fault tax is measured per library, alone, since the malloc tuning would also speed up a
PyTorch running in the same process).

Run: python benches/solo_layer_norm.py fg        (FERROGRAD_MALLOC_TUNING=0 to see the tax)
     /path/to/torch-venv/bin/python benches/solo_layer_norm.py torch
"""

import sys, time, numpy as np
lib = sys.argv[1]
x = np.random.default_rng(0).standard_normal((8192, 768), dtype=np.float32)
if lib == "fg":
    import ferrograd as T
    import ferrograd.nn.functional as F
else:
    import torch as T
    import torch.nn.functional as F
    T.set_num_threads(2)
t = T.tensor(x, requires_grad=True); w = T.ones(768, requires_grad=True); b = T.zeros(768, requires_grad=True)
g = T.tensor(np.ones_like(x))
def step():
    y = F.layer_norm(t, (768,), w, b); y.backward(g); t.grad = None; w.grad = None; b.grad = None
for _ in range(3): step()
best = 1e9
for _ in range(5):
    s = time.perf_counter()
    for _ in range(10): step()
    best = min(best, (time.perf_counter() - s) / 10)
print(lib, f"{best*1e3:.2f} ms")
