"""`fg.distributions`: torch.distributions' everyday subset (VAEs, policy gradients).

    from ferrograd.distributions import Normal, Independent, kl_divergence
    q = Independent(Normal(mu, log_sigma.exp()), 1)      # (B, D): one D-dim event per row
    z = q.rsample()                                      # differentiable in mu and log_sigma
    prior = Independent(Normal(fg.zeros_like(mu), fg.ones_like(mu)), 1)
    kl = kl_divergence(q, prior)                         # (B,)

Draws come from ferrograd's default generator (fg.manual_seed makes them reproducible).
Parameters are validated as torch does (ValueError) unless validate_args=False or
Distribution.set_default_validate_args(False). MultivariateNormal factorises on cpu.
"""

from . import constraints
from .bernoulli import Bernoulli
from .categorical import Categorical
from .distribution import Distribution
from .exponential import Exponential
from .independent import Independent
from .kl import kl_divergence, register_kl
from .laplace import Laplace
from .multivariate_normal import MultivariateNormal
from .normal import Normal
from .one_hot_categorical import OneHotCategorical
from .uniform import Uniform

__all__ = ["Bernoulli", "Categorical", "Distribution", "Exponential", "Independent", "Laplace",
           "MultivariateNormal", "Normal", "OneHotCategorical", "Uniform", "constraints", "kl_divergence",
           "register_kl"]
