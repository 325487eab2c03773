"""Parameters to one flat vector and back (torch.nn.utils.convert_parameters)."""

from __future__ import annotations

from ...tensor import Tensor, cat


def _check_one_device(tensors, fn):
    devices = {str(t.device) for t in tensors}
    if len(devices) > 1:
        raise ValueError(f"{fn}: found parameters on more than one device ({', '.join(sorted(devices))})")


def parameters_to_vector(parameters) -> Tensor:
    """All parameters flattened and joined into one 1-d tensor, in order (differentiable)."""
    params = list(parameters)
    if not params:
        raise ValueError("parameters_to_vector: got no parameters")
    for i, p in enumerate(params):
        if not isinstance(p, Tensor):
            raise TypeError(f"parameters_to_vector: parameter {i} is a {type(p).__name__}, not a Tensor")
    _check_one_device(params, "parameters_to_vector")
    return cat([p.reshape(-1) for p in params])


def vector_to_parameters(vec: Tensor, parameters) -> None:
    """Make each parameter a view of its slice of `vec` (consecutive, in order), as torch does:
    the parameters then share memory with `vec`."""
    fn = "vector_to_parameters"
    if not isinstance(vec, Tensor):
        raise TypeError(f"{fn}: expected vec to be a Tensor, got {type(vec).__name__}")
    if vec.ndim != 1:
        raise ValueError(f"{fn}: vec must be 1-d, got shape {tuple(vec.shape)}")
    params = list(parameters)
    _check_one_device([vec] + params, fn)
    need = sum(p.numel() for p in params)
    if vec.numel() < need:
        raise ValueError(f"{fn}: vec has {vec.numel()} elements but the parameters need {need}")
    start = 0
    for p in params:
        n = p.numel()
        p._data = vec._data[start : start + n].reshape(p.shape)
        start += n
