"""Exceptions that are both what PyTorch raises (RuntimeError) and what ferrograd raised before
(ValueError for shapes, TypeError for dtypes), so code written against either catches them."""


class ShapeRuntimeError(ValueError, RuntimeError):
    """A shape that an autograd call cannot use (torch: RuntimeError)."""


class DtypeRuntimeError(TypeError, RuntimeError):
    """A dtype that an autograd call cannot use (torch: RuntimeError)."""


class IndexRuntimeError(IndexError, RuntimeError):
    """An index out of range where torch raises RuntimeError (gather, scatter, index_add)."""
