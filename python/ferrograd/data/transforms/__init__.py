"""Image transforms on (C, H, W) float images, seeded from ferrograd's generator."""

from . import functional
from .transforms import (
    Compose,
    GaussianNoise,
    MultiView,
    Normalize,
    RandomHorizontalFlip,
    RandomResizedCrop,
    ToTensor,
)

__all__ = ["Compose", "GaussianNoise", "MultiView", "Normalize", "RandomHorizontalFlip",
           "RandomResizedCrop", "ToTensor", "functional"]
