"""Issue 14 point 3: optimizers check what they are given, at construction and at step(), and
backward refuses to accumulate into a .grad of the wrong shape/dtype."""

import math

import numpy as np
import pytest

import ferrograd as fg
from ferrograd import nn, optim

NAN = math.nan


def params():
    return [nn.Parameter(fg.zeros(2, 3))]


# (optimizer, keyword arguments, the argument the message must name)
BAD_HYPER = [
    (optim.Adam, dict(lr=NAN), "lr"),
    (optim.Adam, dict(lr=-1.0), "lr"),
    (optim.Adam, dict(eps=-1e-8), "eps"),
    (optim.Adam, dict(weight_decay=NAN), "weight_decay"),
    (optim.Adam, dict(betas=(NAN, 0.9)), "beta"),
    (optim.Adam, dict(betas=(0.9, 1.0)), "beta"),
    (optim.Adam, dict(betas=0.9), "betas"),
    (optim.AdamW, dict(lr=-1.0), "lr"),
    (optim.AdamW, dict(betas=(1.5, 0.9)), "beta"),
    (optim.Adamax, dict(betas=(-0.1, 0.9)), "beta"),
    (optim.Adamax, dict(eps=NAN), "eps"),
    (optim.NAdam, dict(momentum_decay=-1), "momentum_decay"),
    (optim.NAdam, dict(betas=(0.9,)), "betas"),
    (optim.RAdam, dict(weight_decay=-1), "weight_decay"),
    (optim.RMSprop, dict(weight_decay=-10), "weight_decay"),
    (optim.RMSprop, dict(alpha=-1), "alpha"),
    (optim.RMSprop, dict(momentum=NAN), "momentum"),
    (optim.RMSprop, dict(eps=-1), "eps"),
    (optim.Adagrad, dict(lr_decay=-1), "lr_decay"),
    (optim.Adagrad, dict(initial_accumulator_value=-1), "initial_accumulator_value"),
    (optim.Adagrad, dict(eps=NAN), "eps"),
    (optim.Adadelta, dict(rho=1.5), "rho"),
    (optim.Adadelta, dict(rho=NAN), "rho"),
    (optim.Adadelta, dict(lr=-1), "lr"),
    (optim.SGD, dict(lr=NAN), "lr"),
    (optim.SGD, dict(lr=0.1, momentum=-0.5), "momentum"),
    (optim.SGD, dict(lr=0.1, weight_decay=-1), "weight_decay"),
    (optim.SGD, dict(lr=0.1, nesterov=True), "nesterov"),
    (optim.SGD, dict(lr=0.1, momentum=0.9, dampening=0.5, nesterov=True), "nesterov"),
]


@pytest.mark.parametrize("cls,kwargs,arg", BAD_HYPER, ids=lambda v: getattr(v, "__name__", str(v)))
def test_bad_hyperparameter_raises_value_error(cls, kwargs, arg):
    with pytest.raises(ValueError) as e:
        cls(params(), **kwargs)
    assert cls.__name__ in str(e.value) and arg in str(e.value)


@pytest.mark.parametrize("value", ["0.1", None, [0.1]])
def test_non_number_lr_is_a_type_error(value):
    with pytest.raises(TypeError, match=r"Adam: lr must be a real number"):
        optim.Adam(params(), lr=value)


def test_good_edge_values_are_taken():
    # torch takes these: lr 0, betas 0, rho 1, alpha > 1
    optim.Adam(params(), lr=0.0, betas=(0.0, 0.0), eps=0.0)
    optim.Adadelta(params(), rho=1.0)
    optim.RMSprop(params(), alpha=2.0)
    optim.SGD(params(), lr=0.1, momentum=0.9, nesterov=True)


@pytest.mark.parametrize("bad", [np.zeros(3), 1.0, "w", None])
def test_non_tensor_params_are_refused(bad):
    with pytest.raises(TypeError, match=r"SGD: can only optimize Tensors.*param 0"):
        optim.SGD([bad], lr=0.1)


def test_params_not_iterable():
    with pytest.raises(TypeError, match=r"SGD: params must be an iterable"):
        optim.SGD(None, lr=0.1)
    with pytest.raises(TypeError, match=r"Adam: params must be an ordered iterable"):
        optim.Adam(nn.Parameter(fg.zeros(2)))


def test_empty_and_exhausted_generator():
    with pytest.raises(ValueError, match=r"SGD: got an empty parameter list"):
        optim.SGD([], lr=0.1)
    model = nn.Linear(2, 2)
    gen = model.parameters()
    optim.SGD(gen, lr=0.1)
    with pytest.raises(ValueError, match=r"SGD: got an empty parameter list.*only once"):
        optim.SGD(gen, lr=0.1)


def test_non_leaf_param_is_refused():
    w = nn.Parameter(fg.zeros(2))
    with pytest.raises(ValueError, match=r"Adam: can't optimize a non-leaf Tensor"):
        optim.Adam([w * 2])


def test_duplicate_param_in_a_group_warns():
    w = nn.Parameter(fg.zeros(2))
    with pytest.warns(UserWarning, match=r"SGD: a param group holds the same parameter more than once"):
        optim.SGD([w, w], lr=0.1)


def test_param_groups_are_checked_too():
    with pytest.raises(ValueError, match=r"SGD \(param group 0\): invalid lr"):
        optim.SGD([{"params": params(), "lr": -1.0}], lr=0.1)
    opt = optim.Adam(params())
    with pytest.raises(ValueError, match=r"Adam \(param group 1\): invalid beta"):
        opt.add_param_group({"params": params(), "betas": (0.9, 2.0)})
    with pytest.raises(ValueError, match=r"Adam \(param group 1\): invalid eps"):
        opt.add_param_group({"params": params(), "eps": NAN})
    with pytest.raises(TypeError, match=r"Adam: can only optimize Tensors.*param group 1"):
        opt.add_param_group({"params": [np.zeros(2)]})
    with pytest.raises(KeyError, match=r"add_param_group: a param group needs a 'params' key"):
        opt.add_param_group({"lr": 0.1})
    sgd = optim.SGD(params(), lr=0.1, momentum=0.9, nesterov=True)
    with pytest.raises(ValueError, match=r"SGD \(param group 1\): nesterov"):
        sgd.add_param_group({"params": params(), "momentum": 0.0})
    assert len(opt.param_groups) == 1 and len(sgd.param_groups) == 1  # nothing half-added
    opt.add_param_group({"params": params(), "lr": 0.5})  # a good group still goes in
    assert opt.param_groups[1]["lr"] == 0.5


ALL = [optim.SGD, optim.Adam, optim.AdamW, optim.Adamax, optim.NAdam, optim.RAdam, optim.RMSprop,
       optim.Adagrad, optim.Adadelta]


@pytest.mark.parametrize("cls", ALL, ids=lambda c: c.__name__)
@pytest.mark.parametrize("grad", [fg.zeros(1), fg.zeros(3, 2), fg.zeros(2, 3, dtype=fg.float64)],
                         ids=["broadcast", "transposed", "float64"])
def test_step_refuses_a_mismatched_grad(cls, grad):
    w = nn.Parameter(fg.ones(2, 3))
    opt = cls([w], lr=0.1)
    w.grad = grad
    with pytest.raises(RuntimeError, match=rf"{cls.__name__}.step: parameter 0 of param group 0 \(shape \(2, 3\)"):
        opt.step()
    np.testing.assert_array_equal(w.detach().numpy(), np.ones((2, 3), np.float32))  # untouched


def test_step_names_the_parameter_index():
    a, b = nn.Parameter(fg.zeros(2)), nn.Parameter(fg.zeros(2, 2))
    opt = optim.Adam([{"params": [a]}, {"params": [nn.Parameter(fg.zeros(1)), b]}])
    a.grad = fg.zeros(2)
    b.grad = fg.zeros(2)
    with pytest.raises(RuntimeError, match=r"parameter 1 of param group 1 \(shape \(2, 2\).*gradient of shape \(2,\)"):
        opt.step()


def test_step_refuses_a_non_tensor_grad():
    w = nn.Parameter(fg.zeros(2))
    opt = optim.SGD([w], lr=0.1)
    w.grad = np.zeros(2)
    with pytest.raises(TypeError, match=r"SGD.step: parameter 0 of param group 0 has a .grad that is not a Tensor"):
        opt.step()


def test_step_with_matching_grad_still_updates():
    w = nn.Parameter(fg.ones(2, 3))
    opt = optim.SGD([w], lr=0.5)
    (w * 2).sum().backward()
    opt.step()
    np.testing.assert_allclose(w.detach().numpy(), np.zeros((2, 3)))


@pytest.mark.parametrize("grad", [fg.zeros(3), fg.zeros(1), fg.zeros(2, 3, dtype=fg.float64)],
                         ids=["shape", "broadcastable", "dtype"])
def test_backward_refuses_a_wrong_grad(grad):
    w = nn.Parameter(fg.ones(2, 3))
    w.grad = grad
    with pytest.raises(RuntimeError, match=r"can't accumulate into .grad of shape"):
        (w * 2).sum().backward()


def test_backward_accumulates_into_a_right_grad():
    w = nn.Parameter(fg.ones(2, 3))
    w.grad = fg.ones(2, 3)
    (w * 2).sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), np.full((2, 3), 3.0))


# ---- wgpu: a gradient on the other device is refused, by step() and by backward -------------------
@pytest.fixture
def wgpu():
    """Opened at the first wgpu test, not at collection (see tests/wgpu/conftest.py)."""
    from ferrograd.wgpu import NoAdapterError, runtime

    try:
        runtime.get()
    except NoAdapterError as e:
        pytest.skip(f"no WebGPU adapter: {e}")


@pytest.mark.parametrize("cls", [optim.SGD, optim.Adam], ids=lambda c: c.__name__)
def test_step_refuses_a_grad_on_another_device(wgpu, cls):
    w = nn.Parameter(fg.ones(2, 3, device="wgpu"))
    opt = cls([w], lr=0.1)
    w.grad = fg.zeros(2, 3)  # cpu
    with pytest.raises(RuntimeError, match=rf"{cls.__name__}.step: parameter 0 .*device wgpu.*device cpu"):
        opt.step()
    np.testing.assert_array_equal(w.detach().cpu().numpy(), np.ones((2, 3), np.float32))


def test_backward_refuses_a_grad_on_another_device(wgpu):
    w = nn.Parameter(fg.ones(2, 3, device="wgpu"))
    w.grad = fg.zeros(2, 3)  # cpu
    with pytest.raises(RuntimeError, match=r"can't accumulate into .grad .*device cpu.*device wgpu"):
        (w * 2).sum().backward()
