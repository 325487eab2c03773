"""`ferrograd.nn.functional`: torch.nn.functional's names, arguments, defaults and semantics.

One submodule per family; each fused op calls a Rust kernel through an autograd Function in
`ferrograd.ops`, and keeps its numpy reference in `ferrograd.reference` as the test oracle.
"""

from .activation import *  # noqa: F401,F403
from .attention import *  # noqa: F401,F403
from .conv import *  # noqa: F401,F403
from .linear import *  # noqa: F401,F403
from .loss import *  # noqa: F401,F403
from .mixing import *  # noqa: F401,F403
from .normalization import *  # noqa: F401,F403
from .pooling import *  # noqa: F401,F403
from .recurrent import *  # noqa: F401,F403
from .resample import *  # noqa: F401,F403
from .sparse import *  # noqa: F401,F403
from .channel_dropout import *  # noqa: F401,F403
from .norm_extra import *  # noqa: F401,F403
from .sampling import *  # noqa: F401,F403


def _name_the_function_in_errors():
    """Every public function's exceptions name it (an error raised by a helper or another op
    deeper down gets "name: " in front), as registry ops do."""
    import inspect

    from ...ops.registry import naming_errors

    here = globals()
    for name, fn in list(here.items()):
        if not name.startswith("_") and inspect.isfunction(fn) and fn.__module__.startswith(__name__):
            here[name] = naming_errors(fn, name)


_name_the_function_in_errors()
