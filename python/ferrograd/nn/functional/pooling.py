"""pooling functions of nn.functional."""

__all__ = []
