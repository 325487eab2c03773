"""`ferrograd.utils`: torch.utils's layout, so `from torch.utils.data import DataLoader` code runs
with `import ferrograd as torch`."""

from . import data  # noqa: F401
