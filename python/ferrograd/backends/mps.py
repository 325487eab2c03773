"""`fg.backends.mps`: Apple's Metal backend is not built into ferrograd (its GPU path is 'wgpu')."""


def is_available() -> bool:
    return False


def is_built() -> bool:
    return False
