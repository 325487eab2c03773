"""`fg.backends.cuda`: `matmul.allow_tf32` and friends, settable and without effect (no CUDA)."""


class _MatmulFlags:
    """torch.backends.cuda.matmul: attributes a program may set before training."""

    def __init__(self):
        self.allow_tf32 = False
        self.allow_fp16_reduced_precision_reduction = True
        self.allow_bf16_reduced_precision_reduction = True


matmul = _MatmulFlags()


def is_built() -> bool:
    return False
