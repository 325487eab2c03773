"""ferrograd.models.vae: MLP and conv VAEs against plain-torch references with fixed noise
(tests/fixtures/gen/models/gen_small_families.py): names and shapes, (recon, mu, logvar), the
negative ELBO and its gradients, decode / reconstruct / sample; the loss against a numpy formula,
training, wgpu, bad config and input."""

import json
import pathlib

import numpy as np
import pytest
from safetensors.numpy import load_file

import ferrograd as fg
import ferrograd.models.vae as V
from ferrograd.models import create_model, parameter_groups
from ferrograd.models.vae import vae_loss

FIX = pathlib.Path(__file__).resolve().parents[1] / "fixtures" / "models"
REF = np.load(FIX / "vae_parity.npz")
NAMES = json.loads((FIX / "vae_names.json").read_text())
TOL = dict(rtol=1e-5, atol=1e-5)


def load_case(case):
    kw = json.loads(str(REF[f"{case}:kwargs"]))
    model = getattr(V, str(REF[f"{case}:class"]))(**kw)
    model.load_state_dict(load_file(FIX / f"vae_{case}.safetensors"))
    return model, kw


@pytest.mark.parametrize("row", NAMES, ids=[f"{r['model']}-{i}" for i, r in enumerate(NAMES)])
def test_state_dict_names_and_shapes(row):
    model = create_model(row["model"], **row["kwargs"])
    assert [[k, list(v.shape)] for k, v in model.state_dict().items()] == row["state"]


@pytest.mark.parametrize("case", ["mlp", "mlp_mse", "conv"])
def test_parity_with_fixed_noise(case):
    model, kw = load_case(case)
    x, eps = fg.tensor(REF[f"{case}:x"]), fg.tensor(REF[f"{case}:eps"])
    recon, mu, logvar = model(x, eps=eps)
    assert tuple(recon.shape) == tuple(x.shape)
    for name, t in (("recon", recon), ("mu", mu), ("logvar", logvar)):
        np.testing.assert_allclose(t.detach().numpy(), REF[f"{case}:{name}"], err_msg=name, **TOL)
    loss = vae_loss(recon, x, mu, logvar, beta=float(REF[f"{case}:beta"]),
                    reconstruction=str(REF[f"{case}:reconstruction"]))
    np.testing.assert_allclose(loss.item(), REF[f"{case}:loss"], **TOL)
    loss.backward()
    for n, p in model.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), REF[f"{case}:grad:{n}"], err_msg=n, **TOL)
    with fg.no_grad():
        dec = model.decode(fg.tensor(REF[f"{case}:z"]))
        np.testing.assert_allclose(dec.numpy().reshape(REF[f"{case}:decoded_z"].shape), REF[f"{case}:decoded_z"], **TOL)
        rec = model.reconstruct(x)
        assert tuple(rec.shape) == tuple(x.shape)
        np.testing.assert_allclose(rec.numpy().reshape(REF[f"{case}:reconstruct"].shape), REF[f"{case}:reconstruct"],
                                   **TOL)
        np.testing.assert_allclose(model.forward_features(x).numpy(), REF[f"{case}:mu"], **TOL)
        # model.loss is vae_loss(*model(x), x)
        same = model.loss(x, beta=float(REF[f"{case}:beta"]), reconstruction=str(REF[f"{case}:reconstruction"]),
                          eps=eps)
    np.testing.assert_allclose(same.item(), REF[f"{case}:loss"], **TOL)


def test_create_model_loads_the_reference_safetensors():
    kw = json.loads(str(REF["conv:kwargs"]))
    model = create_model("vae_conv", pretrained=str(FIX / "vae_conv.safetensors"), **kw)
    with fg.no_grad():
        recon, _, _ = model(fg.tensor(REF["conv:x"]), eps=fg.tensor(REF["conv:eps"]))
    np.testing.assert_allclose(recon.numpy(), REF["conv:recon"], **TOL)


def test_vae_loss_against_numpy():
    rng = np.random.default_rng(0)
    recon = rng.uniform(0.05, 0.95, (4, 6)).astype(np.float32)
    x = rng.uniform(0, 1, (4, 6)).astype(np.float32)
    mu, logvar = rng.standard_normal((2, 4, 3)).astype(np.float32)
    bce = -(x * np.log(recon) + (1 - x) * np.log(1 - recon)).sum()
    mse = ((recon - x) ** 2).sum()
    kld = -0.5 * (1 + logvar - mu ** 2 - np.exp(logvar)).sum()
    args = [fg.tensor(a) for a in (recon, x, mu, logvar)]
    np.testing.assert_allclose(vae_loss(*args).item(), (bce + kld) / 4, rtol=1e-5)
    np.testing.assert_allclose(vae_loss(*args, beta=0.25, reconstruction="mse").item(), (mse + 0.25 * kld) / 4,
                               rtol=1e-5)
    np.testing.assert_allclose(vae_loss(*args, reduction="sum").item(), bce + kld, rtol=1e-5)  # pytorch/examples


def test_reparameterize_sample_and_generator():
    model = create_model("vae_mlp", input_dim=10, hidden_dims=[8], latent_dim=3)
    mu, logvar = fg.tensor([[0.5, -1.0, 2.0]]), fg.tensor([[0.0, np.log(4.0), -2.0]])
    z = model.reparameterize(mu, logvar, eps=fg.tensor([[1.0, 1.0, -1.0]]))
    np.testing.assert_allclose(z.numpy(), [[1.5, 1.0, 2.0 - np.exp(-1.0)]], rtol=1e-6)
    x = fg.rand(5, 10)
    with fg.no_grad():
        a = model(x, generator=fg.Generator().manual_seed(7))[0].numpy()
        b = model(x, generator=fg.Generator().manual_seed(7))[0].numpy()
        c = model(x, generator=fg.Generator().manual_seed(8))[0].numpy()
        model.eval()  # forward samples in eval mode too; reconstruct does not
        d = model(x, generator=fg.Generator().manual_seed(7))[0].numpy()
        r1, r2 = model.reconstruct(x).numpy(), model.reconstruct(x).numpy()
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a, d)
    assert not np.allclose(a, c)
    np.testing.assert_array_equal(r1, r2)
    s1 = model.sample(4, generator=fg.Generator().manual_seed(1))
    s2 = model.sample(4, generator=fg.Generator().manual_seed(1))
    assert tuple(s1.shape) == (4, 10) and not s1.requires_grad
    np.testing.assert_array_equal(s1.numpy(), s2.numpy())
    assert 0 <= s1.numpy().min() and s1.numpy().max() <= 1  # sigmoid decoder
    assert tuple(create_model("vae_conv", img_size=8, channels=[4]).sample(2).shape) == (2, 1, 8, 8)


def test_groups_and_no_classifier():
    model = create_model("vae_conv", img_size=8, channels=[4, 8], latent_dim=4)
    assert [g for g, _ in model.layer_groups()] == ["encoder", "latent", "decoder"]
    assert sum(len(p) for _, p in parameter_groups(model)) == len(list(model.parameters()))
    fg.nn.utils.freeze(model, unlocked_groups=1)
    assert all(n.startswith("decoder.") for n, p in model.named_parameters() if p.requires_grad)
    with pytest.raises(NotImplementedError, match="no classifier"):
        model.reset_classifier(2)


def _binary_patterns(seed, n=64):
    """Four prototypes of 16 pixels, each pixel flipped with probability 0.05."""
    rng = np.random.default_rng(seed)
    protos = rng.random((4, 16)) < 0.5
    x = protos[rng.integers(0, 4, n)] ^ (rng.random((n, 16)) < 0.05)
    return fg.tensor(x.astype(np.float32))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_training_reduces_the_negative_elbo(seed):
    fg.manual_seed(seed)
    x = _binary_patterns(seed)
    model = create_model("vae_mlp", input_dim=16, hidden_dims=[32], latent_dim=2)
    opt = fg.optim.Adam(model.parameters(), lr=0.02)
    losses = []
    for _ in range(60):
        loss = model.loss(x)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    # the floor is about 0.4 of the start (pixel-flip entropy + the KL of 4 prototypes); 3 seeds end at 0.45-0.51
    assert np.mean(losses[-5:]) < 0.7 * np.mean(losses[:5]), losses[::10]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_conv_training_reduces_the_negative_elbo(seed):
    fg.manual_seed(seed)
    x = _binary_patterns(seed, n=32).reshape(32, 1, 4, 4)
    model = create_model("vae_conv", img_size=4, channels=[16], latent_dim=2)
    opt = fg.optim.Adam(model.parameters(), lr=0.02)
    losses = []
    for _ in range(60):
        loss = model.loss(x)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert np.mean(losses[-5:]) < 0.7 * np.mean(losses[:5]), losses[::10]


def test_wgpu_matches_cpu():
    from ferrograd.wgpu import NoAdapterError, runtime

    try:
        runtime.get()
    except NoAdapterError as e:
        pytest.skip(f"no WebGPU adapter: {e}")
    results = {}
    for device in ("cpu", "wgpu"):
        out = []
        for case in ("mlp", "conv"):
            model, _ = load_case(case)
            model.to(device)
            x, eps = fg.tensor(REF[f"{case}:x"], device=device), fg.tensor(REF[f"{case}:eps"], device=device)
            loss = model.loss(x, beta=float(REF[f"{case}:beta"]), eps=eps)
            loss.backward()
            assert loss.device.type == device
            with fg.no_grad():
                samples = model.sample(3, generator=fg.Generator().manual_seed(0))
            assert samples.device.type == device
            out += [loss.item(), model.fc_logvar.weight.grad.numpy(), model.encoder[0].weight.grad.numpy(),
                    model.reconstruct(x).detach().numpy()]
        results[device] = out
    np.testing.assert_allclose(results["cpu"][0], REF["mlp:loss"], **TOL)
    for c, d in zip(results["cpu"], results["wgpu"]):
        np.testing.assert_allclose(d, c, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name, kwargs, err, pattern", [
    ("vae_mlp", dict(hidden_dims=[]), TypeError, r"VAE: hidden_dims must be a non-empty list of ints"),
    ("vae_mlp", dict(latent_dim=0), ValueError, r"VAE: latent_dim must be >= 1, got 0"),
    ("vae_mlp", dict(output_activation="softmax"), ValueError, r"VAE: output_activation must be one of"),
    ("vae_conv", dict(img_size=10, channels=[4, 8]), ValueError, r"ConvVAE: img_size must be divisible by"),
    ("vae_conv", dict(in_channels=2.0), TypeError, r"ConvVAE: in_channels must be an int"),
])
def test_bad_config(name, kwargs, err, pattern):
    with pytest.raises(err, match=pattern):
        create_model(name, **kwargs)


def test_bad_input_and_bad_loss_arguments():
    model = create_model("vae_mlp", input_dim=6, hidden_dims=[4], latent_dim=2)
    with pytest.raises(ValueError, match=r"vae_mlp: input must be features of shape \(N, 6\), got \(3, 5\)"):
        model(fg.rand(3, 5))
    with pytest.raises(ValueError, match=r"vae_mlp: eps must be a Tensor of mu's shape \(3, 2\), got \(3, 3\)"):
        model(fg.rand(3, 6), eps=fg.randn(3, 3))
    with pytest.raises(ValueError, match=r"vae_mlp.decode: z must be \(N, 2\), got \(3, 4\)"):
        model.decode(fg.randn(3, 4))
    with pytest.raises(ValueError, match=r"vae_mlp.sample: n must be >= 1, got 0"):
        model.sample(0)
    conv = create_model("vae_conv", img_size=8, channels=[4])
    with pytest.raises(ValueError, match=r"vae_conv: input must be images of shape \(N, 1, 8, 8\), got \(2, 8, 8\)"):
        conv(fg.rand(2, 8, 8))
    r, x, mu, lv = fg.rand(2, 6), fg.rand(2, 6), fg.randn(2, 2), fg.randn(2, 2)
    with pytest.raises(ValueError, match=r"vae_loss: reconstruction must be 'bce' or 'mse', got 'l1'"):
        vae_loss(r, x, mu, lv, reconstruction="l1")
    with pytest.raises(ValueError, match=r"vae_loss: reduction must be 'mean' or 'sum'"):
        vae_loss(r, x, mu, lv, reduction="none")
    with pytest.raises(ValueError, match=r"vae_loss: beta must be a number >= 0"):
        vae_loss(r, x, mu, lv, beta=-1)
    with pytest.raises(ValueError, match=r"vae_loss: recon and x must have the same shape"):
        vae_loss(r, fg.rand(2, 5), mu, lv)
    with pytest.raises(ValueError, match=r"vae_loss: mu and logvar must both be \(N, latent_dim\) with N = 2"):
        vae_loss(r, x, mu, fg.randn(3, 2))
    with pytest.raises(TypeError, match=r"vae_loss: x must be a Tensor"):
        vae_loss(r, x.numpy(), mu, lv)
