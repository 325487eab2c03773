"""`ferrograd.optim`: optimizers and learning-rate schedules with PyTorch's update rules."""

from . import lr_scheduler
from .adam import Adam, AdamW
from .optimizer import Optimizer
from .rmsprop import RMSprop
from .sgd import SGD
