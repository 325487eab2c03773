"""`fg.backends`: torch.backends' switches (cudnn, cuda.matmul, mps), for `import ferrograd as torch`
programs that set them. ferrograd has none of these backends; the flags are kept so code that
sets and reads them runs, and they change nothing."""

from . import cuda, cudnn, mps  # noqa: F401

__all__ = ["cuda", "cudnn", "mps"]
