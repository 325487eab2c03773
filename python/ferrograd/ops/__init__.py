"""Differentiable primitive ops on numpy arrays. Each forward sits next to its backward."""
