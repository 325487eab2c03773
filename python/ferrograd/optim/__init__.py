"""`ferrograd.optim`: optimizers with PyTorch's update rules."""

from .adam import Adam
from .optimizer import Optimizer
from .sgd import SGD
