"""Random number generators: `fg.Generator` and the library's default one, as torch's.

Every random op of ferrograd (rand, randn, dropout, initialisers, shuffling, ...) draws from a
`Generator`: the one passed as `generator=`, else `fg.default_generator`, which `fg.manual_seed`
seeds. A Generator wraps a numpy PCG64 `numpy.random.Generator`; numbers are drawn on the host
and uploaded for wgpu tensors, so a seed gives the same values on every device.

    g = fg.Generator().manual_seed(0)
    a = fg.rand(3, generator=g)
    state = g.get_state()          # an int64 Tensor (ferrograd has no uint8 dtype)
    b = fg.rand(3, generator=g)
    g.set_state(state)
    assert (fg.rand(3, generator=g) == b).all()
"""

from __future__ import annotations

import numbers
import secrets

import numpy as np

# torch.Generator() starts from this seed; the default generator is seeded at random at startup.
_DEFAULT_SEED = 67280421310721
_MASK64 = (1 << 64) - 1
_STATE_TAG = 0x46475047  # "FGPG": marks a state tensor written by Generator.get_state
_STATE_LEN = 8


def _check_seed(seed, op: str) -> int:
    """torch's seed rule: an int in [-2**63, 2**64); negative seeds wrap to uint64."""
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        if hasattr(seed, "item") and getattr(seed, "ndim", 1) == 0:  # a 0-d tensor / numpy scalar
            return _check_seed(seed.item(), op)
        raise TypeError(f"{op}: seed must be an int, got {type(seed).__name__}")
    seed = int(seed)
    if not -(1 << 63) <= seed <= _MASK64:
        raise ValueError(f"{op}: seed {seed} is out of range (expected an int in [-2**63, 2**64))")
    return seed & _MASK64


class Generator:
    """A random number generator, like `torch.Generator(device='cpu')`.

    `manual_seed(s)` (returns self), `seed()`, `initial_seed()`, `get_state()`/`set_state()`.
    `device` is recorded ('cpu' or 'wgpu'); draws happen on the host for either.
    """

    def __init__(self, device="cpu"):
        from .device import device as Device

        self.device = Device(device)
        self._seed = _DEFAULT_SEED
        self._np = np.random.Generator(np.random.PCG64(_DEFAULT_SEED))

    # ---- seeding ------------------------------------------------------------------------------
    def manual_seed(self, seed) -> "Generator":
        """Seed this generator (the same stream as `numpy.random.default_rng(seed)`); returns self."""
        self._seed = _check_seed(seed, "manual_seed")
        # The numpy Generator object is kept (code may hold it); only its bit generator's state
        # is replaced, so its stream equals np.random.default_rng(seed)'s.
        self._np.bit_generator.state = np.random.PCG64(self._seed).state
        return self

    def seed(self) -> int:
        """Seed from the OS's entropy; returns the seed used."""
        s = secrets.randbits(63)
        self.manual_seed(s)
        return s

    def initial_seed(self) -> int:
        return self._seed

    # ---- state ----------------------------------------------------------------------------------
    def get_state(self):
        """The full state as an int64 Tensor of 8 values (tag, PCG64 state and increment as
        128-bit halves, buffered 32-bit draw, initial seed); `set_state` restores it exactly."""
        from .tensor import Tensor

        st = self._np.bit_generator.state
        words = [
            _STATE_TAG,
            st["state"]["state"] >> 64, st["state"]["state"] & _MASK64,
            st["state"]["inc"] >> 64, st["state"]["inc"] & _MASK64,
            int(st["has_uint32"]), int(st["uinteger"]),
            self._seed,
        ]
        return Tensor(np.array(words, dtype=np.uint64).view(np.int64))

    def set_state(self, new_state) -> "Generator":
        """Restore a state from `get_state` (a Tensor or array), or a numpy PCG64 state dict (what
        ferrograd's get_rng_state returned before; old checkpoints hold it)."""
        if isinstance(new_state, dict):
            if new_state.get("bit_generator") != "PCG64":
                raise ValueError(f"set_state: expected a PCG64 state dict, got bit_generator="
                                 f"{new_state.get('bit_generator')!r}")
            self._np.bit_generator.state = new_state
            return self
        data = getattr(new_state, "_data", new_state)
        if hasattr(data, "numpy") and not isinstance(data, np.ndarray):
            data = data.numpy()  # a wgpu tensor: read back
        if not isinstance(data, np.ndarray):
            raise TypeError(f"set_state: expected the Tensor returned by get_state, got {type(new_state).__name__}")
        if data.shape != (_STATE_LEN,) or data.dtype.kind not in "iu":
            raise ValueError(f"set_state: expected an int64 tensor of shape ({_STATE_LEN},) from get_state, "
                             f"got dtype {data.dtype} and shape {tuple(data.shape)}")
        w = [int(x) for x in data.astype(np.int64).view(np.uint64)]
        if w[0] != _STATE_TAG:
            raise ValueError("set_state: the tensor is not a state from Generator.get_state (wrong tag)")
        self._np.bit_generator.state = {
            "bit_generator": "PCG64",
            "state": {"state": (w[1] << 64) | w[2], "inc": (w[3] << 64) | w[4]},
            "has_uint32": w[5], "uinteger": w[6],
        }
        self._seed = w[7]
        return self

    def __getstate__(self):  # picklable (deepcopy, multiprocessing): state and seed
        return {"device": str(self.device), "seed": self._seed, "np": self._np.bit_generator.state}

    def __setstate__(self, d):
        from .device import device as Device

        self.device = Device(d["device"])
        self._seed = d["seed"]
        self._np = np.random.Generator(np.random.PCG64())
        self._np.bit_generator.state = d["np"]

    def __repr__(self):
        return f"<ferrograd.Generator object at {id(self):#x}>"


default_generator = Generator()
default_generator.seed()  # as torch: the default generator starts from a random seed


def _resolve(generator, op: str) -> np.random.Generator:
    """The numpy Generator that a `generator=` argument draws from: None -> the default
    generator's, an fg.Generator -> its own, a numpy Generator -> itself."""
    if generator is None:
        return default_generator._np
    if isinstance(generator, Generator):
        return generator._np
    if isinstance(generator, np.random.Generator):
        return generator
    raise TypeError(f"{op}: generator must be None or a ferrograd.Generator, got {type(generator).__name__}")


numpy_generator = _resolve  # the public name other modules (nn.init, data) call


# ---- module functions (torch.manual_seed, torch.seed, ...) ------------------------------------
def manual_seed(seed) -> Generator:
    """Seed the default generator (every random op of ferrograd); returns it, as torch does."""
    return default_generator.manual_seed(seed)


def seed() -> int:
    """Seed the default generator non-deterministically; returns the seed."""
    return default_generator.seed()


def initial_seed() -> int:
    return default_generator.initial_seed()


def get_rng_state():
    """The default generator's state (see Generator.get_state)."""
    return default_generator.get_state()


def set_rng_state(new_state) -> None:
    default_generator.set_state(new_state)


def generator() -> np.random.Generator:
    """The default generator's numpy Generator (what library code draws from)."""
    return default_generator._np
