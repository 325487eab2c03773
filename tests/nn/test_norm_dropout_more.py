"""InstanceNorm1d/2d/3d + F.instance_norm, RMSNorm + F.rms_norm, BatchNorm3d, SyncBatchNorm
against torch (tests/fixtures/nn_more_cases.npz) on cpu float64 and wgpu float32; the channel
and alpha dropouts against torch's formula (tests/fixtures/dropout_torch.npz: torch's outputs
with the keep masks read off them) and their training/eval/inplace behaviour."""

import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

import ferrograd as fg
from ferrograd import nn
from ferrograd.nn import functional as F
from ferrograd.nn.functional import channel_dropout
from ferrograd.testing import gradcheck

sys.path.insert(0, str(Path(__file__).parent))
from _nn_more_replay import FIX, check, names, wgpu  # noqa: E402,F401

NORM_CASES = names(["instnorm", "f_instance", "rmsnorm", "f_rms", "batchnorm3d", "syncbn"])
DROP = np.load(FIX / "dropout_torch.npz")


# ---- norms ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", NORM_CASES)
def test_norms_match_torch(name):
    check(name)


@pytest.mark.parametrize("name", NORM_CASES)
def test_norms_match_torch_on_wgpu(wgpu, name):
    check(name, np.float32, "wgpu", rtol=5e-4, atol=5e-5)


def test_norm_defaults_and_state():
    m = nn.InstanceNorm2d(3)
    assert (m.affine, m.track_running_stats, m.eps, m.momentum) == (False, False, 1e-5, 0.1)
    assert m.weight is None and m.running_mean is None and list(m.state_dict()) == []
    t = nn.InstanceNorm1d(4, affine=True, track_running_stats=True)
    assert list(t.state_dict()) == ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"]
    np.testing.assert_array_equal(t.weight.detach().numpy(), np.ones(4))
    t(fg.randn(2, 4, 5))
    assert int(t.num_batches_tracked.item()) == 0  # instance norm does not count batches (torch neither)
    r = nn.RMSNorm((2, 3))
    assert r.eps is None and r.normalized_shape == (2, 3) and tuple(r.weight.shape) == (2, 3)
    assert nn.RMSNorm(3, elementwise_affine=False).weight is None
    b = nn.BatchNorm3d(2, affine=True, bias=False)
    assert b.bias is None and list(b.state_dict())[:1] == ["weight"]


def test_rms_norm_default_eps_is_the_dtypes():
    x = fg.tensor([[1e-5, -1e-5]], dtype=fg.float32)
    want = 1e-5 / np.sqrt(1e-10 + np.finfo(np.float32).eps)
    np.testing.assert_allclose(F.rms_norm(x, (2,)).numpy(), [[want, -want]], rtol=1e-5)


def test_norm_gradcheck():
    fg.manual_seed(3)
    x = fg.randn(2, 3, 4, dtype=fg.float64, requires_grad=True)
    w = fg.randn(3, dtype=fg.float64, requires_grad=True)
    b = fg.randn(3, dtype=fg.float64, requires_grad=True)
    assert gradcheck(lambda x, w, b: F.instance_norm(x, weight=w, bias=b), [x, w, b])
    w2 = fg.randn(3, 4, dtype=fg.float64, requires_grad=True)
    assert gradcheck(lambda x, w: F.rms_norm(x, (3, 4), w, eps=1e-3), [x, w2])


def test_sync_batchnorm_converts_and_shares_state():
    net = nn.Sequential(nn.Conv2d(2, 3, 1), nn.Sequential(nn.BatchNorm2d(3)))
    bn = net[1][0]
    out = nn.SyncBatchNorm.convert_sync_batchnorm(net)
    sbn = out[1][0]
    assert type(sbn) is nn.SyncBatchNorm and sbn.weight is bn.weight and sbn.running_mean is bn.running_mean
    out(fg.randn(2, 2, 3, 3))
    assert int(bn.num_batches_tracked.item()) == 1  # the buffers are the same tensors


def test_norm_bad_arguments():
    with pytest.raises(ValueError, match=r"InstanceNorm1d: expected 2D or 3D input \(got 4D input\)"):
        nn.InstanceNorm1d(3)(fg.randn(2, 3, 4, 5))
    with pytest.raises(ValueError, match=r"expected input's size at dim=1 to match num_features \(3\), but got: 4"):
        nn.InstanceNorm2d(3, affine=True)(fg.randn(2, 4, 3, 3))
    with pytest.warns(UserWarning, match="does not match num_features"):
        nn.InstanceNorm2d(3)(fg.randn(2, 4, 3, 3))
    with pytest.raises(ValueError, match="more than 1 spatial element"):
        F.instance_norm(fg.randn(2, 3, 1))
    with pytest.raises(ValueError, match="running_mean and running_var to be defined"):
        F.instance_norm(fg.randn(2, 3, 4), use_input_stats=False)
    with pytest.raises(RuntimeError, match=r"normalized_shape \[3\] does not match"):
        F.rms_norm(fg.randn(2, 4), [3])
    with pytest.raises(RuntimeError, match=r"weight has shape \(3,\), expected \(4,\)"):
        F.rms_norm(fg.randn(2, 4), 4, fg.ones(3))
    with pytest.raises(ValueError, match=r"BatchNorm3d: expected a 5-d input"):
        nn.BatchNorm3d(3)(fg.randn(2, 3, 4, 4))
    with pytest.raises(ValueError, match=r"SyncBatchNorm: expected at least 2D input \(got 1D input\)"):
        nn.SyncBatchNorm(3)(fg.randn(3))


# ---- dropouts --------------------------------------------------------------------------------------
@pytest.mark.parametrize("p", [0.2, 0.5])
def test_alpha_dropout_formula_matches_torch(p):
    x, y, keep = (DROP[f"alpha_{p}_{k}"] for k in "x y keep".split())
    assert 0 < keep.mean() < 1
    ours = channel_dropout._apply(fg.tensor(x), fg.tensor(keep), p, alpha=True)
    np.testing.assert_allclose(ours.numpy(), y, rtol=1e-12, atol=1e-12)


def test_feature_alpha_dropout_formula_matches_torch():
    x, y, keep = (DROP[f"falpha_0.3_{k}"] for k in "x y keep".split())
    assert keep.shape == (16, 6, 1, 1) and 0 < keep.mean() < 1
    ours = channel_dropout._apply(fg.tensor(x), fg.tensor(keep), 0.3, alpha=True)
    np.testing.assert_allclose(ours.numpy(), y, rtol=1e-12, atol=1e-12)


def _channel_pattern(x, y, p, batched=True):
    """Each (sample, channel) is all zeros or x / (1 - p): the pattern torch's outputs have."""
    xs, ys = (a if batched else a[None] for a in (x, y))
    flat_x = xs.reshape(xs.shape[0], xs.shape[1], -1)
    flat_y = ys.reshape(flat_x.shape)
    dropped = (flat_y == 0).all(axis=2)
    kept = np.isclose(flat_y, flat_x / (1 - p), rtol=1e-12).all(axis=2)
    return dropped, kept


@pytest.mark.parametrize("name,fn,batched", [("d1", F.dropout1d, True), ("d2", F.dropout2d, True),
                                             ("d3", F.dropout3d, True), ("d1u", F.dropout1d, False),
                                             ("d3u", F.dropout3d, False)])
def test_channel_dropouts_have_torchs_pattern(name, fn, batched):
    x, y = DROP[f"{name}_x"], DROP[f"{name}_y"]
    dropped, kept = _channel_pattern(x, y, 0.4, batched)
    assert (dropped ^ kept).all()  # torch's output: whole channels, scaled by 1/(1-p)
    fg.manual_seed(0)
    ours = fn(fg.tensor(x), 0.4, training=True).numpy()
    assert ours.shape == x.shape
    d, k = _channel_pattern(x, ours, 0.4, batched)
    assert (d ^ k).all() and d.any() and k.any()


def test_dropout_rates_seeding_and_gradient():
    x = fg.ones(400, 50, 2, requires_grad=True)
    fg.manual_seed(5)
    y = F.dropout1d(x, 0.3)
    fg.manual_seed(5)
    np.testing.assert_array_equal(F.dropout1d(x, 0.3).detach().numpy(), y.detach().numpy())
    rate = (y.detach().numpy()[..., 0] == 0).mean()
    assert abs(rate - 0.3) < 0.02
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), y.detach().numpy())  # d(x * mask)/dx = mask
    z = F.alpha_dropout(fg.randn(200000), 0.3, training=True).numpy()
    assert abs(z.mean()) < 0.02 and abs(z.std() - 1) < 0.02  # keeps zero mean, unit variance


@pytest.mark.filterwarnings("ignore:dropout")  # 3-d input to Dropout2d/3d: torch warns, so do we
def test_dropout_eval_p0_p1_and_inplace():
    x = fg.randn(2, 3, 4)
    assert F.dropout1d(x, 0.5, training=False) is x and F.alpha_dropout(x, 0.5) is x  # alpha: training=False
    assert F.feature_alpha_dropout(x, 0.0, training=True) is x
    assert not F.dropout2d(fg.randn(2, 3, 4, 4), 1.0).numpy().any()
    assert not F.alpha_dropout(x, 1.0, training=True).numpy().any()
    y = fg.ones(2, 3, 4)
    out = F.dropout3d(y, 0.5, inplace=True)
    assert out is y and set(np.unique(y.numpy())) <= {0.0, 2.0}
    m = nn.Dropout2d(0.5, inplace=True).eval()
    assert m(y) is y
    for cls in (nn.Dropout1d, nn.Dropout2d, nn.Dropout3d, nn.AlphaDropout, nn.FeatureAlphaDropout):
        m = cls(0.25)
        assert (m.p, m.inplace) == (0.25, False) and m.eval()(x) is x


def test_dropout_modules_train():
    fg.manual_seed(1)
    x = fg.ones(20, 8, 3)
    y = nn.Dropout1d(0.5)(x).numpy()
    assert set(np.unique(y)) == {0.0, 2.0} and (y == y[..., :1]).all()
    z = nn.FeatureAlphaDropout(0.5)(fg.ones(20, 8, 3)).numpy()
    assert len(np.unique(z)) == 2 and (z == z[..., :1]).all()


def test_dropouts_on_wgpu(wgpu):
    fg.manual_seed(2)
    x = fg.ones(64, 16, 3, device="wgpu", requires_grad=True)
    y = F.dropout1d(x, 0.25)
    assert y.device == "wgpu"
    v = y.detach().numpy()
    assert set(np.unique(v)) <= {0.0, np.float32(1 / 0.75)} and (v == v[..., :1]).all()
    assert abs((v[..., 0] == 0).mean() - 0.25) < 0.06
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), v)
    z = F.alpha_dropout(fg.randn(4000, device="wgpu"), 0.2, training=True)
    assert z.device == "wgpu" and len(np.unique(np.round(z.numpy(), 5))) > 10
    f = F.feature_alpha_dropout(fg.ones(8, 4, 2, device="wgpu"), 0.5, training=True).numpy()
    assert (f == f[..., :1]).all()


def test_dropout_bad_arguments():
    with pytest.raises(ValueError, match="dropout probability has to be between 0 and 1, but got 1.5"):
        F.dropout2d(fg.randn(2, 3, 4, 4), 1.5)
    with pytest.raises(ValueError, match="dropout probability has to be between 0 and 1"):
        nn.AlphaDropout(-0.1)
    with pytest.raises(RuntimeError, match="dropout1d: Expected 2D or 3D input, but received a 4D input"):
        F.dropout1d(fg.randn(1, 2, 3, 4))
    with pytest.warns(UserWarning, match="Received a 3D input to dropout2d"):
        F.dropout2d(fg.randn(2, 3, 4))
    with pytest.warns(UserWarning, match="Received a 2-D input to dropout3d"):
        with warnings.catch_warnings():
            warnings.simplefilter("always")
            F.dropout3d(fg.randn(2, 3))
    with pytest.raises(RuntimeError, match="Feature dropout requires at least 2 dimensions"):
        F.feature_alpha_dropout(fg.randn(5), 0.5, training=True)
    with pytest.raises(TypeError, match="must be float32 or float64"):
        F.alpha_dropout(fg.tensor([1, 2]), 0.5, training=True)
