"""WGSL kernels with the calling conventions of `ferrograd._native`: the same function names,
arguments and results, on GpuArrays. `ops` picks this module or `_native` by the data's type."""

from .matmul import matmul  # noqa: F401
from .mixing import channel_mixing_backward, channel_mixing_forward, token_mixing_backward, token_mixing_forward  # noqa: F401,E501
from .rnn import gru_backward, gru_forward, lstm_backward, lstm_forward, rnn_backward, rnn_forward  # noqa: F401
from .attention import sdpa_backward, sdpa_forward  # noqa: F401
