"""normalization functions of nn.functional."""

__all__ = []
