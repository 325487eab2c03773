"""`torch.utils.data`'s names: everything lives in `ferrograd.data`; this module re-exports it."""

from ..data import *  # noqa: F401,F403
from ..data import __all__ as _data_all
from ..data import sampler as _sampler

_samplers = [n for n in ("Sampler", "SequentialSampler", "RandomSampler", "BatchSampler", "SubsetRandomSampler")
             if hasattr(_sampler, n)]
globals().update({n: getattr(_sampler, n) for n in _samplers})
__all__ = list(_data_all) + _samplers
