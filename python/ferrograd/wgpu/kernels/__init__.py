"""WGSL kernels with the calling conventions of `ferrograd._native`: the same function names,
arguments and results, on GpuArrays. `ops` picks this module or `_native` by the data's type
(`ops._util.kernels`), looking functions up by name at call time: a kernel family not written
for the device yet raises KernelMissing (a NotImplementedError) naming the function."""

from .activation import erf, erfc, gelu_backward, gelu_forward, gelu_forward_with_grad, relu_backward, relu_forward  # noqa: F401,E501
from .mse import mse_loss_backward, mse_loss_sum  # noqa: F401
from .conv import conv2d_backward_data, conv2d_backward_weight, conv2d_forward  # noqa: F401
from .matmul import linear_backward, matmul  # noqa: F401
from .pool import (  # noqa: F401
    adaptive_avg_pool2d_backward,
    adaptive_avg_pool2d_forward,
    avg_pool2d_backward,
    avg_pool2d_forward,
    max_pool2d_backward,
    max_pool2d_forward,
)
from .norm import layer_norm_backward, layer_norm_forward  # noqa: F401
from .batch_norm import batch_norm_backward, batch_norm_forward  # noqa: F401
from .softmax import (  # noqa: F401
    cross_entropy_backward,
    cross_entropy_forward,
    cross_entropy_prob_backward,
    cross_entropy_prob_forward,
    softmax_backward,
    softmax_forward,
)
from .mixing import channel_mixing_backward, channel_mixing_forward, token_mixing_backward, token_mixing_forward  # noqa: F401,E501
from .rnn import gru_backward, gru_forward, lstm_backward, lstm_forward, rnn_backward, rnn_forward  # noqa: F401
from .attention import sdpa_backward, sdpa_forward, sdpa_packed_backward, sdpa_packed_forward  # noqa: F401
from .optim import adam_step, adam_step_many, sgd_step, sum_of_squares  # noqa: F401
from .dropout import dropout_mask, random_uint32  # noqa: F401
from .embedding import embedding_backward, embedding_forward  # noqa: F401
from ._entry import device_kernel as _device_kernel

# Every kernel taken through this package gets operands with non-negative strides (_entry.py);
# the optimizer steps write their arguments in place and are left as they are.
for _name in ("erf", "erfc", "gelu_backward", "gelu_forward", "gelu_forward_with_grad", "linear_backward",
              "relu_backward", "relu_forward", "mse_loss_backward", "mse_loss_sum", "conv2d_backward_data",
              "conv2d_backward_weight",
              "conv2d_forward", "adaptive_avg_pool2d_backward", "adaptive_avg_pool2d_forward", "avg_pool2d_backward",
              "avg_pool2d_forward", "max_pool2d_backward", "max_pool2d_forward", "batch_norm_backward",
              "batch_norm_forward", "layer_norm_backward",
              "layer_norm_forward", "cross_entropy_backward", "cross_entropy_forward", "cross_entropy_prob_backward",
              "cross_entropy_prob_forward", "softmax_backward", "softmax_forward", "channel_mixing_backward",
              "channel_mixing_forward", "token_mixing_backward", "token_mixing_forward", "gru_backward", "gru_forward",
              "lstm_backward", "lstm_forward", "rnn_backward", "rnn_forward", "sdpa_backward", "sdpa_forward",
              "sdpa_packed_backward", "sdpa_packed_forward",
              "embedding_backward", "embedding_forward"):
    globals()[_name] = _device_kernel(globals()[_name])
matmul = _device_kernel(matmul, written=("out",))
del _name


class KernelMissing(NotImplementedError, AttributeError):
    """No wgpu kernel of that name yet. Also an AttributeError, so hasattr() and getattr() with a
    default answer normally."""


def __getattr__(name: str):
    if name.startswith("_"):
        raise AttributeError(name)
    raise KernelMissing(f"{name} is not implemented on the wgpu device yet")
