"""ferrograd: deep learning for Python with Rust kernels. `import ferrograd as fg`."""

from . import _native  # noqa: F401  (fails early and clearly if the extension is missing)
from . import _malloc
import warnings as _warnings

# NaN and inf are results, as in PyTorch: numpy's floating-point warnings from inside ferrograd
# (log(-1), 0/0, overflow) are not shown. The filter matches only warnings raised in ferrograd's
# own modules, so the user's numpy code still warns.
_warnings.filterwarnings("ignore", message=r".*(invalid value|divide by zero|overflow|underflow) encountered",
                         category=RuntimeWarning, module=r"ferrograd(\.|$)")

_malloc.tune()
_malloc.align_numpy()
from . import data, nn, optim, utils  # noqa: E402
from .checkpoint import load_checkpoint, save_checkpoint
from .io import load, save
from . import autograd
from .autograd import enable_grad, inference_mode, is_grad_enabled, is_inference_mode_enabled, no_grad
from .autograd import set_grad_enabled_ctx as set_grad_enabled
from .device import device
from .dtypes import bool_ as bool, float32, float64, int32, int64  # noqa: A001
from . import linalg  # noqa: E402
from .compiler import CompileError, compile  # noqa: E402,A004
from .ops._factory import strided  # noqa: E402
from .random import Generator, default_generator, get_rng_state, initial_seed, manual_seed, seed, set_rng_state
from .size import Size  # noqa: E402
from .typeinfo import finfo, get_default_dtype, iinfo, set_default_dtype  # noqa: E402
from .tensor import (
    Tensor,
    arange,
    cat,
    empty,
    from_numpy,
    full,
    matmul,
    maximum,
    minimum,
    ones,
    ones_like,
    rand,
    randint,
    randn,
    stack,
    tensor,
    where,
    zeros,
    zeros_like,
)

from .ops import api as _api, registry as _registry  # noqa: E402

_registry.install(Tensor, globals())

import sys  # noqa: E402
from . import backends, cuda, distributed, distributions, experiments, models, recipes, special, testing  # noqa: E402
from . import autograd_functional as _autograd_functional  # noqa: E402
from .printing import get_printoptions, printoptions, set_printoptions  # noqa: E402

autograd.functional = _autograd_functional  # torch.autograd.functional
autograd.gradcheck = _autograd_functional.gradcheck
autograd.gradgradcheck = _autograd_functional.gradgradcheck
sys.modules[__name__ + ".autograd.functional"] = _autograd_functional  # `from ferrograd.autograd.functional import jacobian`

float = float32  # noqa: A001  (torch.float)
double = float64
long = int64

__version__ = "0.1.0"


def _as_function(name):
    def fn(input, *args, **kwargs):
        return getattr(input, name)(*args, **kwargs)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"`fg.{name}(t, ...)` is `t.{name}(...)`."
    return fn


# Hand-written Tensor methods not (yet) registry entries, as functions; registry entries win.
for _name in ("exp", "log", "sqrt", "abs", "tanh", "sigmoid", "relu", "clamp", "sum", "mean",
              "max", "min", "var", "std", "argmax", "argmin", "reshape", "flatten", "transpose",
              "permute", "unsqueeze", "squeeze"):
    if _name not in _registry.OPS:
        globals()[_name] = _as_function(_name)
del _name
