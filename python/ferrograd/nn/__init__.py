"""`ferrograd.nn`: modules with PyTorch's behaviour and state_dict layout."""

from . import functional, init, utils
from .activation import ReLU, Sigmoid, Tanh
from .container import ModuleDict, ModuleList, Sequential
from .linear import Linear
from .module import Module
from .parameter import Parameter
from .shape_layers import Flatten, Identity, Unflatten
