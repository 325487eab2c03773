"""fg.distributions against torch.distributions (tests/fixtures/distributions_torch.npz, made by
tests/fixtures/gen/gen_distributions_torch.py on distributions_cases.py): log_prob, cdf, icdf,
moments, entropy and KL values and their gradients; reparameterised gradients; sampling
statistics (tolerances from each distribution's variance, valid for any seed); validation."""

import importlib.util
import math
import pathlib

import numpy as np
import pytest

import ferrograd as fg
import ferrograd.distributions as D
from ferrograd.distributions import constraints
from ferrograd.testing import gradcheck

FIXTURES = pathlib.Path(__file__).resolve().parents[1] / "fixtures"
_spec = importlib.util.spec_from_file_location("distributions_cases", FIXTURES / "gen" / "distributions_cases.py")
cases = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(cases)
REF = np.load(FIXTURES / "distributions_torch.npz")
K = 5.0  # standard errors allowed in the sampling checks: a false failure has probability < 1e-6


def T(a):
    return fg.tensor(a, dtype=fg.float64, requires_grad=True)


def _tensor_value(v):
    return fg.tensor(v) if v.dtype.kind == "i" else fg.tensor(v, dtype=fg.float64)


def _close(got, want, rtol=1e-10, atol=1e-12):
    np.testing.assert_allclose(got, want, rtol=rtol, atol=atol, equal_nan=True)


# ---- values and gradients against torch ---------------------------------------------------------
@pytest.mark.parametrize("name", [n for n in cases.CASES if n != "uniform_wide"])
def test_case_matches_torch(name):
    _, build, _, methods = cases.CASES[name]
    dist, ps = build(D, T, cases.params(name))
    v = _tensor_value(cases.values(name))
    lp = dist.log_prob(v)
    _close(lp.detach().numpy(), REF[f"{name}/log_prob"])
    total = (lp * fg.tensor(cases.weights(tuple(lp.shape)), dtype=fg.float64)).sum()
    for m in methods:
        if m == "cdf":
            out = dist.cdf(v)
        elif m == "icdf":
            q = fg.tensor(cases.ICDF_Q, dtype=fg.float64).reshape((-1,) + (1,) * len(dist.batch_shape))
            out = dist.icdf(q.expand((len(cases.ICDF_Q),) + tuple(dist.batch_shape)))
        elif m == "entropy":
            out = dist.entropy()
        else:
            out = getattr(dist, m)
        want = REF[f"{name}/{m}"]
        assert tuple(out.shape) == want.shape, m
        _close(out.detach().numpy(), want)
        if out.dtype == fg.float64 and out.requires_grad and np.isfinite(out.detach().numpy()).all():
            total = total + (out * fg.tensor(cases.weights(tuple(out.shape)), dtype=fg.float64)).sum()
    grads = fg.autograd.grad(total, ps)
    for k, g in enumerate(grads):
        _close(g.numpy(), REF[f"{name}/grad{k}"], rtol=1e-9, atol=1e-10)


@pytest.mark.parametrize("name", sorted(cases.KL_CASES))
def test_kl_matches_torch(name):
    pn, qn = cases.KL_CASES[name]
    p, pps = cases.CASES[pn][1](D, T, cases.params(pn))
    q, _ = cases.CASES[qn][1](D, T, cases.params(qn, "/q"))
    kl = D.kl_divergence(p, q)
    _close(kl.detach().numpy(), REF[f"kl/{name}"])
    grads = fg.autograd.grad((kl * fg.tensor(cases.weights(tuple(kl.shape)), dtype=fg.float64)).sum(), pps)
    for k, g in enumerate(grads):
        _close(g.numpy(), REF[f"kl/{name}/grad{k}"], rtol=1e-9, atol=1e-10)


def test_kl_special_values():
    p = D.Bernoulli(probs=fg.tensor([0.0, 1.0, 0.3], dtype=fg.float64))
    q = D.Bernoulli(probs=fg.tensor([0.5, 0.0, 0.0], dtype=fg.float64))
    np.testing.assert_allclose(D.kl_divergence(p, q).numpy(), [math.log(2), math.inf, math.inf])
    u = D.kl_divergence(D.Uniform(0.0, 2.0), D.Uniform(1.0, 3.0))
    assert u.item() == math.inf
    c = D.kl_divergence(D.Categorical(probs=fg.tensor([0.5, 0.5, 0.0])), D.Categorical(probs=fg.tensor([0.5, 0.0, 0.5])))
    assert c.item() == math.inf


# ---- reparameterised sampling -------------------------------------------------------------------
def test_normal_rsample_gradients_through_loc_and_scale():
    loc, scale = T([0.5, -1.0]), T([2.0, 0.3])
    fg.manual_seed(0)
    x = D.Normal(loc, scale).rsample((50,))
    assert x.shape == (50, 2) and x.requires_grad
    x.sum().backward()
    eps = (x.detach().numpy() - loc.detach().numpy()) / scale.detach().numpy()
    np.testing.assert_allclose(loc.grad.numpy(), [50.0, 50.0])
    np.testing.assert_allclose(scale.grad.numpy(), eps.sum(0), rtol=1e-12)


def _seeded(make):
    """A deterministic function of the parameters: reseed, then rsample (so gradcheck applies)."""
    def f(*params):
        fg.manual_seed(7)
        return make(*params).rsample((3,))
    return f


@pytest.mark.parametrize("make,args", [
    (lambda a, b: D.Normal(a, b), ([0.3, -0.2], [1.5, 0.4])),
    (lambda a, b: D.Laplace(a, b), ([0.3, -0.2], [1.5, 0.4])),
    (lambda a: D.Exponential(a), ([0.7, 2.0],)),
    (lambda a, b: D.Uniform(a, b), ([-1.0, 0.0], [1.0, 2.5])),
    # matrix parameters through tril / symmetrisation: gradcheck perturbs one entry at a time
    (lambda a, b: D.MultivariateNormal(a, scale_tril=b.tril()), ([0.3, -0.2], [[1.0, 0.0], [0.4, 0.8]])),
    (lambda a, b: D.MultivariateNormal(a, covariance_matrix=(b + b.mT) * 0.5), ([0.3, -0.2], [[2.0, 0.5], [0.5, 1.0]])),
    (lambda a, b: D.Independent(D.Normal(a, b), 1), ([0.3, -0.2], [1.5, 0.4])),
])
def test_rsample_gradcheck(make, args):
    params = [T(a) for a in args]
    assert gradcheck(_seeded(make), params, atol=1e-6, rtol=1e-5)


def test_has_rsample_flags():
    assert D.Normal(0.0, 1.0).has_rsample and D.MultivariateNormal(fg.zeros(2), scale_tril=fg.eye(2)).has_rsample
    assert not D.Bernoulli(0.3).has_rsample and not D.Categorical(fg.ones(3)).has_rsample
    with pytest.raises(NotImplementedError, match="Bernoulli has no reparameterized sampler"):
        D.Bernoulli(0.3).rsample()
    assert not D.Normal(T([0.0]), T([1.0])).sample((2,)).requires_grad


# ---- sampling statistics -------------------------------------------------------------------------
N = 40000


def _check_moments(x, mean, var, axis=0):
    """Sample mean within K standard errors of `mean`; sample variance within K standard errors of
    `var`, using the sample's own fourth central moment for that error."""
    x = np.asarray(x, dtype=np.float64)
    n = x.shape[axis]
    m = x.mean(axis)
    np.testing.assert_array_less(np.abs(m - mean), K * np.sqrt(var / n) + 1e-12)
    c = x - m
    s2 = (c ** 2).mean(axis)
    m4 = (c ** 4).mean(axis)
    np.testing.assert_array_less(np.abs(s2 - var), K * np.sqrt((m4 - s2 ** 2) / n) + 1e-12)


def _check_quantiles(dist, x):
    """P(X <= icdf(q)) ~ q for a few q: a binomial proportion with K-sigma tolerance."""
    for q in (0.1, 0.5, 0.8):
        t = dist.icdf(fg.full(tuple(dist.batch_shape), q, dtype=fg.float64)).numpy()
        frac = (x <= t).mean(0)
        np.testing.assert_array_less(np.abs(frac - q), K * math.sqrt(q * (1 - q) / x.shape[0]))


@pytest.mark.parametrize("make", [
    lambda: D.Normal(fg.tensor([0.5, -2.0], dtype=fg.float64), fg.tensor([1.0, 0.25], dtype=fg.float64)),
    lambda: D.Laplace(fg.tensor([0.5, -2.0], dtype=fg.float64), fg.tensor([1.0, 0.25], dtype=fg.float64)),
    lambda: D.Exponential(fg.tensor([0.5, 3.0], dtype=fg.float64)),
    lambda: D.Uniform(fg.tensor([-1.0, 2.0], dtype=fg.float64), fg.tensor([1.0, 2.5], dtype=fg.float64)),
])
@pytest.mark.parametrize("seed", [0, 1])
def test_continuous_sampling_statistics(make, seed):
    dist = make()
    fg.manual_seed(seed)
    x = dist.sample((N,))
    assert x.shape == (N, 2) and x.dtype == fg.float64
    x = x.numpy()
    assert bool(dist.support.check(fg.tensor(x)).all())
    _check_moments(x, dist.mean.numpy(), dist.variance.numpy())
    _check_quantiles(dist, x)


@pytest.mark.parametrize("seed", [0, 1])
def test_multivariate_normal_sampling_statistics(seed):
    cov = np.array([[2.0, 0.6, 0.0], [0.6, 1.0, -0.3], [0.0, -0.3, 0.5]])
    loc = np.array([1.0, -1.0, 0.0])
    dist = D.MultivariateNormal(fg.tensor(loc), covariance_matrix=fg.tensor(cov, dtype=fg.float32))
    fg.manual_seed(seed)
    x = dist.sample((N,)).numpy().astype(np.float64)
    _check_moments(x, loc, np.diag(cov))
    emp = np.cov(x.T)
    se = np.sqrt((np.outer(np.diag(cov), np.diag(cov)) + cov ** 2) / N)  # sd of a Gaussian sample covariance
    np.testing.assert_array_less(np.abs(emp - cov), K * se)


@pytest.mark.parametrize("seed", [0, 1])
def test_discrete_sampling_statistics(seed):
    fg.manual_seed(seed)
    p = np.array([0.1, 0.6, 0.95])
    b = D.Bernoulli(probs=fg.tensor(p)).sample((N,)).numpy()
    assert set(np.unique(b)) <= {0.0, 1.0}
    np.testing.assert_array_less(np.abs(b.mean(0) - p), K * np.sqrt(p * (1 - p) / N))
    probs = np.array([[0.2, 0.3, 0.5, 0.0], [0.7, 0.1, 0.1, 0.1]])
    c = D.Categorical(probs=fg.tensor(probs)).sample((N,)).numpy()
    assert c.shape == (N, 2) and c.dtype == np.int64
    for j in range(2):
        freq = np.bincount(c[:, j], minlength=4) / N
        np.testing.assert_array_less(np.abs(freq - probs[j]), K * np.sqrt(probs[j] * (1 - probs[j]) / N) + 1e-12)
    oh = D.OneHotCategorical(probs=fg.tensor(probs[0])).sample((N,)).numpy()
    assert oh.shape == (N, 4) and (oh.sum(1) == 1).all()
    np.testing.assert_array_less(np.abs(oh.mean(0) - probs[0]), K * np.sqrt(probs[0] * (1 - probs[0]) / N) + 1e-12)


def test_sampling_is_reproducible_with_manual_seed():
    dist = D.Normal(fg.zeros(3), fg.ones(3))
    fg.manual_seed(123)
    a = dist.sample((4,)).numpy()
    fg.manual_seed(123)
    b = dist.sample((4,)).numpy()
    np.testing.assert_array_equal(a, b)
    fg.manual_seed(123)
    c = D.Categorical(logits=fg.zeros(5)).sample((10,)).numpy()
    fg.manual_seed(123)
    np.testing.assert_array_equal(c, D.Categorical(logits=fg.zeros(5)).sample((10,)).numpy())


# ---- shapes ----------------------------------------------------------------------------------------
def test_shapes():
    n = D.Normal(0.0, 1.0)
    assert n.batch_shape == () and n.event_shape == () and n.sample().shape == () and n.sample((2, 3)).shape == (2, 3)
    assert n.loc.dtype == fg.float32
    n = D.Normal(fg.zeros(4, 1), fg.ones(3))
    assert n.batch_shape == (4, 3) and n.sample((2,)).shape == (2, 4, 3)
    ind = D.Independent(D.Normal(fg.zeros(5, 4, 3), fg.ones(5, 4, 3)), 2)
    assert ind.batch_shape == (5,) and ind.event_shape == (4, 3)
    assert ind.log_prob(fg.zeros(5, 4, 3)).shape == (5,) and ind.entropy().shape == (5,)
    m = D.MultivariateNormal(fg.zeros(3), scale_tril=fg.eye(3).expand(2, 3, 3))
    assert m.batch_shape == (2,) and m.event_shape == (3,) and m.sample((4,)).shape == (4, 2, 3)
    assert m.log_prob(fg.zeros(4, 1, 3)).shape == (4, 2)
    c = D.Categorical(logits=fg.zeros(2, 5))
    assert c.batch_shape == (2,) and c.event_shape == () and c.sample((3,)).shape == (3, 2)
    oh = D.OneHotCategorical(logits=fg.zeros(2, 5))
    assert oh.batch_shape == (2,) and oh.event_shape == (5,) and oh.sample((3,)).shape == (3, 2, 5)
    b = D.Bernoulli(logits=fg.zeros(3))
    assert b.enumerate_support().shape == (2, 3) and c.enumerate_support().shape == (5, 2)
    np.testing.assert_array_equal(c.enumerate_support(expand=False).numpy().ravel(), np.arange(5))
    assert oh.enumerate_support().shape == (5, 2, 5)


def test_log_prob_of_enumerated_support_sums_to_one():
    c = D.Categorical(logits=fg.tensor([[0.3, -1.0, 2.0], [0.0, 0.0, 0.0]]))
    total = c.log_prob(c.enumerate_support()).exp().sum(0).numpy()
    np.testing.assert_allclose(total, [1.0, 1.0], rtol=1e-6)
    b = D.Bernoulli(probs=fg.tensor([0.2, 0.9]))
    np.testing.assert_allclose(b.log_prob(b.enumerate_support()).exp().sum(0).numpy(), [1.0, 1.0], rtol=1e-6)


# ---- validation -------------------------------------------------------------------------------------
def test_parameter_validation_matches_torch_messages():
    with pytest.raises(ValueError, match=r"Expected parameter scale \(Tensor of shape \(2,\)\) of distribution "
                                         r"Normal\(.*\) to satisfy the constraint GreaterThan\(lower_bound=0.0\), "
                                         r"but found invalid values"):
        D.Normal(fg.zeros(2), fg.tensor([1.0, -1.0]))
    with pytest.raises(ValueError, match="Either `probs` or `logits` must be specified, but not both."):
        D.Bernoulli()
    with pytest.raises(ValueError, match="Either `probs` or `logits` must be specified, but not both."):
        D.Categorical(probs=fg.ones(2), logits=fg.ones(2))
    with pytest.raises(ValueError, match="constraint Interval\\(lower_bound=0.0, upper_bound=1.0\\)"):
        D.Bernoulli(probs=fg.tensor([1.5]))
    with pytest.raises(ValueError, match="constraint Simplex"):
        D.Categorical(probs=fg.tensor([0.5, -0.1, 0.6]))
    with pytest.raises(ValueError, match="`probs` parameter must be at least one-dimensional."):
        D.Categorical(probs=fg.tensor(1.0))
    with pytest.raises(ValueError, match="constraint LessThan"):
        D.Uniform(1.0, 0.0)
    with pytest.raises(ValueError, match="constraint GreaterThan"):
        D.Exponential(fg.tensor([0.0]))
    with pytest.raises(ValueError, match="constraint PositiveDefinite"):
        D.MultivariateNormal(fg.zeros(2), covariance_matrix=fg.tensor([[1.0, 2.0], [2.0, 1.0]]))
    with pytest.raises(ValueError, match="constraint LowerCholesky"):
        D.MultivariateNormal(fg.zeros(2), scale_tril=fg.tensor([[1.0, 1.0], [0.0, 1.0]]))
    with pytest.raises(ValueError, match="Exactly one of covariance_matrix or precision_matrix or scale_tril"):
        D.MultivariateNormal(fg.zeros(2), covariance_matrix=fg.eye(2), scale_tril=fg.eye(2))
    with pytest.raises(ValueError, match="loc must be at least one-dimensional."):
        D.MultivariateNormal(fg.tensor(0.0), covariance_matrix=fg.eye(1))
    with pytest.raises(ValueError, match=r"Expected reinterpreted_batch_ndims <= len\(base_distribution.batch_shape\), "
                                         r"actual 2 vs 1"):
        D.Independent(D.Normal(fg.zeros(3), fg.ones(3)), 2)
    with pytest.raises(ValueError, match="Input arguments must all be instances of Number or ferrograd.Tensor"):
        D.Normal([0.0], 1.0)


def test_sample_validation():
    with pytest.raises(ValueError, match=r"Expected value argument \(Tensor of shape \(2,\)\) to be within the support "
                                         r"\(GreaterThanEq\(lower_bound=0.0\)\) of the distribution Exponential"):
        D.Exponential(fg.ones(2)).log_prob(fg.tensor([1.0, -1.0]))
    with pytest.raises(ValueError, match="within the support \\(Boolean\\(\\)\\)"):
        D.Bernoulli(probs=fg.tensor([0.5])).log_prob(fg.tensor([0.5]))
    with pytest.raises(ValueError, match="IntegerInterval\\(lower_bound=0, upper_bound=2\\)"):
        D.Categorical(probs=fg.ones(3)).log_prob(fg.tensor([3]))
    with pytest.raises(ValueError, match="The right-most size of value must match event_shape"):
        D.MultivariateNormal(fg.zeros(3), scale_tril=fg.eye(3)).log_prob(fg.zeros(2))
    with pytest.raises(ValueError, match="Value is not broadcastable with batch_shape\\+event_shape"):
        D.Normal(fg.zeros(3), fg.ones(3)).log_prob(fg.zeros(2))
    with pytest.raises(ValueError, match="The value argument to log_prob must be a Tensor"):
        D.Normal(0.0, 1.0).log_prob(0.5)
    with pytest.raises(ValueError, match="Interval"):
        D.Uniform(0.0, 1.0).log_prob(fg.tensor(2.0))


def test_validate_args_off():
    n = D.Normal(fg.zeros(1), fg.tensor([-1.0]), validate_args=False)
    assert np.isnan(n.log_prob(fg.zeros(1)).numpy()).all()
    assert D.Uniform(0.0, 1.0, validate_args=False).log_prob(fg.tensor(2.0)).item() == -math.inf
    old = D.Distribution._validate_args
    try:
        D.Distribution.set_default_validate_args(False)
        D.Exponential(fg.tensor([-1.0]))
    finally:
        D.Distribution.set_default_validate_args(old)
    with pytest.raises(ValueError):
        D.Distribution.set_default_validate_args("yes")


def test_kl_registry_dispatch_and_errors():
    class MyNormal(D.Normal):
        pass

    p, q = MyNormal(0.0, 1.0), D.Normal(1.0, 2.0)
    expected = D.kl_divergence(D.Normal(0.0, 1.0), q).item()
    assert D.kl_divergence(p, q).item() == pytest.approx(expected)  # inherits Normal-Normal

    @D.register_kl(MyNormal, D.Normal)
    def _kl(p, q):
        return fg.tensor(42.0)

    assert D.kl_divergence(p, q).item() == 42.0
    assert D.kl_divergence(D.Normal(0.0, 1.0), q).item() == pytest.approx(expected)
    with pytest.raises(NotImplementedError, match="No KL\\(p \\|\\| q\\) is implemented for p type Exponential and q "
                                                  "type Normal"):
        D.kl_divergence(D.Exponential(1.0), D.Normal(0.0, 1.0))
    with pytest.raises(TypeError, match="Expected type_p to be a Distribution subclass"):
        D.register_kl(int, D.Normal)
    with pytest.raises(NotImplementedError):
        D.kl_divergence(D.Independent(D.Normal(fg.zeros(2, 2), fg.ones(2, 2)), 1),
                        D.Independent(D.Normal(fg.zeros(2, 2), fg.ones(2, 2)), 2))


def test_vae_style_kl_and_reparameterisation_train():
    """The VAE recipe: q(z|x) = Normal(mu, sigma) per dim, KL to N(0, 1) summed, gradients reach mu."""
    mu = T(np.zeros((4, 2)) + 0.5)
    log_sigma = T(np.zeros((4, 2)) - 0.3)
    q = D.Independent(D.Normal(mu, log_sigma.exp()), 1)
    prior = D.Independent(D.Normal(fg.zeros(4, 2, dtype=fg.float64), fg.ones(4, 2, dtype=fg.float64)), 1)
    kl = D.kl_divergence(q, prior)
    closed = 0.5 * (np.exp(2 * -0.3) + 0.25 - 1 - 2 * -0.3) * 2
    np.testing.assert_allclose(kl.detach().numpy(), np.full(4, closed), rtol=1e-12)
    fg.manual_seed(0)
    (kl.sum() + q.rsample().pow(2).sum()).backward()
    assert mu.grad is not None and log_sigma.grad is not None


def test_constraints_module():
    assert repr(constraints.positive) == "GreaterThan(lower_bound=0.0)"
    assert repr(constraints.real_vector) == "IndependentConstraint(Real(), 1)"
    assert repr(constraints.simplex) == "Simplex()"
    assert constraints.is_dependent(D.Uniform.support) and not constraints.is_dependent(constraints.real)
    np.testing.assert_array_equal(constraints.unit_interval.check(fg.tensor([-0.1, 0.0, 1.0, 1.1])).numpy(),
                                  [False, True, True, False])
    np.testing.assert_array_equal(constraints.real_vector.check(fg.tensor([[0.0, math.nan], [1.0, 2.0]])).numpy(),
                                  [False, True])
    assert constraints.positive_definite.check(fg.eye(2)).item()


def test_wgpu_sampling_equals_cpu_with_the_same_seed():
    """Draws happen on the host from the default generator: the same seed gives the same samples on
    either device, and log_prob / gradients agree."""
    from ferrograd.wgpu import NoAdapterError, runtime

    try:
        runtime.get()
    except NoAdapterError as e:
        pytest.skip(f"no WebGPU adapter: {e}")
    results = {}
    for dev in ("cpu", "wgpu"):
        loc = fg.tensor([0.5, -1.0]).to(dev).requires_grad_()
        scale = fg.tensor([2.0, 0.3]).to(dev).requires_grad_()
        fg.manual_seed(11)
        x = D.Normal(loc, scale).rsample((6,))
        lp = D.Normal(fg.zeros(2).to(dev), fg.ones(2).to(dev)).log_prob(x).sum()
        lp.backward()
        results[dev] = (x.detach().cpu().numpy(), lp.item(), loc.grad.cpu().numpy(), scale.grad.cpu().numpy())
        fg.manual_seed(11)
        c = D.Categorical(logits=fg.tensor([[0.0, 1.0, 2.0]]).to(dev)).sample((5,))
        assert str(c.device) == dev and c.dtype == fg.int64
    for a, b in zip(results["cpu"], results["wgpu"]):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
