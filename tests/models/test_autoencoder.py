"""ferrograd.models.autoencoder: MLP and conv autoencoders against plain torch.nn.Sequential stacks
(tests/fixtures/gen/models/gen_small_families.py): names and shapes, reconstructions and codes, the
denoising forward with given noise, loss, gradients, L1 and KL sparsity; under/over-complete sizes,
training, wgpu, bad config and input."""

import json
import pathlib

import numpy as np
import pytest
from safetensors.numpy import load_file

import ferrograd as fg
import ferrograd.models.autoencoder as A
from ferrograd.models import create_model, parameter_groups

FIX = pathlib.Path(__file__).resolve().parents[1] / "fixtures" / "models"
REF = np.load(FIX / "autoencoder_parity.npz")
NAMES = json.loads((FIX / "autoencoder_names.json").read_text())
CASES = ["mlp", "mlp_img", "conv", "conv_full"]
TOL = dict(rtol=1e-5, atol=1e-5)


def load_case(case):
    kw = json.loads(str(REF[f"{case}:kwargs"]))
    model = getattr(A, str(REF[f"{case}:class"]))(**kw)
    model.load_state_dict(load_file(FIX / f"autoencoder_{case}.safetensors"))
    return model.eval(), kw


@pytest.mark.parametrize("row", NAMES, ids=[f"{r['model']}-{i}" for i, r in enumerate(NAMES)])
def test_state_dict_names_and_shapes(row):
    model = create_model(row["model"], **row["kwargs"])
    assert [[k, list(v.shape)] for k, v in model.state_dict().items()] == row["state"]


@pytest.mark.parametrize("case", CASES)
def test_parity(case):
    model, kw = load_case(case)
    x, noise = fg.tensor(REF[f"{case}:x"]), fg.tensor(REF[f"{case}:noise"])
    with fg.no_grad():  # eval: no noise whatever noise_std is
        recon, z = model(x, noise=noise), model.encode(x)
        np.testing.assert_allclose(model.forward_features(x).numpy(), z.numpy())
    assert tuple(recon.shape) == tuple(x.shape)
    np.testing.assert_allclose(recon.numpy(), REF[f"{case}:recon"], **TOL)
    np.testing.assert_allclose(z.numpy(), REF[f"{case}:z"], **TOL)
    model.train()  # training: x + noise_std * noise is encoded, the clean x is the target
    np.testing.assert_allclose(model(x, noise=noise).detach().numpy(), REF[f"{case}:recon_noisy"], **TOL)
    loss = model.loss(x, noise=noise)
    np.testing.assert_allclose(loss.item(), REF[f"{case}:loss"], **TOL)
    loss.backward()
    for n, p in model.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), REF[f"{case}:grad:{n}"], err_msg=n, **TOL)
    z_noisy = model.encode(model.corrupt(x, noise))
    model.sparsity, model.sparsity_weight = "l1", 1.0
    np.testing.assert_allclose(model.sparsity_loss(z_noisy).item(), REF[f"{case}:l1"], **TOL)
    if f"{case}:kl" in REF.files:
        model.sparsity = "kl"
        np.testing.assert_allclose(model.sparsity_loss(z_noisy).item(), REF[f"{case}:kl"], rtol=1e-5)


def test_create_model_loads_the_reference_safetensors():
    kw = json.loads(str(REF["conv:kwargs"]))
    model = create_model("ae_conv", pretrained=str(FIX / "autoencoder_conv.safetensors"), **kw).eval()
    with fg.no_grad():
        np.testing.assert_allclose(model(fg.tensor(REF["conv:x"])).numpy(), REF["conv:recon"], **TOL)


def test_under_and_overcomplete_codes():
    x = fg.rand(2, 1, 28, 28)
    with fg.no_grad():
        assert tuple(create_model("ae_mlp").encode(x).shape) == (2, 32)  # 784 -> 32
        assert tuple(create_model("ae_mlp_sparse").encode(x).shape) == (2, 1024)  # 784 -> 1024
        conv = create_model("ae_conv")
        assert tuple(conv.encode(x).shape) == (2, 32, 7, 7) and tuple(conv(x).shape) == (2, 1, 28, 28)
        over = create_model("ae_conv", channels=[16, 64])  # 64 * 7 * 7 = 3136 > 784
        assert over.encode(x)[0].numel() > x[0].numel()
        dense = create_model("ae_conv", latent_dim=10, latent_activation="tanh")
        z = dense.encode(x)
        assert tuple(z.shape) == (2, 10) and np.abs(z.numpy()).max() <= 1
        out = create_model("ae_mlp", output_activation="sigmoid")(x).numpy()
        assert out.shape == (2, 1, 28, 28) and out.min() >= 0 and out.max() <= 1


def test_denoising_adds_noise_only_in_training():
    model = create_model("ae_mlp_denoising", input_dim=6, hidden_dims=[5], latent_dim=3)
    assert model.noise_std == 0.3
    x = fg.rand(4, 6)
    with fg.no_grad():
        model.eval()
        a, b = model(x).numpy(), model(x).numpy()
        np.testing.assert_array_equal(a, b)
        model.train()
        np.testing.assert_allclose(model(x, noise=fg.zeros(4, 6)).numpy(), a, **TOL)
        fg.manual_seed(0)
        c = model(x).numpy()
        fg.manual_seed(0)
        d = model(x, noise=fg.randn(4, 6)).numpy()  # the noise is fg.randn of x's shape
    assert not np.allclose(a, c)
    np.testing.assert_allclose(c, d, **TOL)


def test_sparsity_variants():
    z = fg.tensor([[0.1, 0.9, 0.5], [0.3, 0.1, 0.5]])
    l1 = create_model("ae_mlp", input_dim=4, hidden_dims=[], latent_dim=3, sparsity="l1", sparsity_weight=0.5)
    np.testing.assert_allclose(l1.sparsity_loss(z).item(), 0.5 * (1.5 + 0.9) / 2, rtol=1e-6)
    kl = create_model("ae_mlp", input_dim=4, hidden_dims=[], latent_dim=3, sparsity="kl", latent_activation="sigmoid",
                      sparsity_weight=2.0, sparsity_target=0.2)
    rho, hat = 0.2, np.array([0.2, 0.5, 0.5])
    want = 2.0 * np.sum(rho * np.log(rho / hat) + (1 - rho) * np.log((1 - rho) / (1 - hat)))
    np.testing.assert_allclose(kl.sparsity_loss(z).item(), want, rtol=1e-5)
    plain = create_model("ae_mlp", input_dim=4, hidden_dims=[], latent_dim=3)
    assert plain.sparsity_loss(z).item() == 0.0
    x = fg.rand(2, 4)
    assert l1.loss(x).item() > fg.nn.functional.mse_loss(l1(x), x).item()  # loss adds the penalty


def test_groups_and_no_classifier():
    model = create_model("ae_conv", channels=[4, 8])
    assert [g for g, _ in model.layer_groups()] == ["encoder", "decoder"]
    assert sum(len(p) for _, p in parameter_groups(model)) == len(list(model.parameters()))
    fg.nn.utils.freeze(model, unlocked_groups=1)
    assert all(n.startswith("decoder.") for n, p in model.named_parameters() if p.requires_grad)
    with pytest.raises(NotImplementedError, match="no classifier"):
        model.reset_classifier(3)


def _low_rank_data(seed, n=64, d=16, rank=3):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, rank)) @ rng.standard_normal((rank, d)) / 2
    return fg.tensor((1 / (1 + np.exp(-x))).astype(np.float32))  # in (0, 1)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("name, kwargs", [
    ("ae_mlp", dict(hidden_dims=[32], latent_dim=4)),
    ("ae_mlp_denoising", dict(hidden_dims=[32], latent_dim=4, noise_std=0.1)),
    ("ae_mlp_sparse", dict(latent_dim=32, sparsity_weight=1e-4)),
])
def test_mlp_training_reduces_loss(name, kwargs, seed):
    fg.manual_seed(seed)
    x = _low_rank_data(seed)
    model = create_model(name, input_dim=16, output_activation="sigmoid", **kwargs)
    opt = fg.optim.Adam(model.parameters(), lr=0.01)
    losses = []
    for _ in range(60):
        loss = model.loss(x)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.3 * losses[0], losses[::10]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_conv_training_reduces_loss(seed):
    fg.manual_seed(seed)
    rng = np.random.default_rng(seed)
    xx, yy = np.meshgrid(np.arange(8), np.arange(8))
    imgs = [((xx - cx) ** 2 + (yy - cy) ** 2 < r * r) for cx, cy, r in rng.uniform([2, 2, 1.5], [6, 6, 3], (16, 3))]
    x = fg.tensor(np.stack(imgs)[:, None].astype(np.float32))  # discs
    model = create_model("ae_conv", img_size=8, channels=[8, 16], latent_dim=8)
    opt = fg.optim.Adam(model.parameters(), lr=0.01)
    losses = []
    for _ in range(60):
        loss = model.loss(x, reconstruction="bce")
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.6 * losses[0], losses[::10]


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
            model.to(device).train()
            x, noise = fg.tensor(REF[f"{case}:x"], device=device), fg.tensor(REF[f"{case}:noise"], device=device)
            loss = model.loss(x, noise=noise)
            loss.backward()
            assert loss.device.type == device
            with fg.no_grad():
                out += [model.eval()(x).numpy(), loss.item(), model.encoder[0].weight.grad.numpy()]
        results[device] = out
    np.testing.assert_allclose(results["cpu"][3], REF["conv:recon"], **TOL)
    for c, d in zip(results["cpu"], results["wgpu"]):
        np.testing.assert_allclose(d, c, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name, kwargs, err, pattern", [
    ("ae_mlp", dict(latent_dim=0), ValueError, r"Autoencoder: latent_dim must be >= 1, got 0"),
    ("ae_mlp", dict(hidden_dims=8), TypeError, r"Autoencoder: hidden_dims must be a list of ints, got 8"),
    ("ae_mlp", dict(activation="swish"), ValueError, r"Autoencoder: activation must be one of"),
    ("ae_mlp", dict(noise_std=-1), ValueError, r"Autoencoder: noise_std must be a number >= 0"),
    ("ae_mlp", dict(sparsity="l2"), ValueError, r"Autoencoder: sparsity must be None, 'l1' or 'kl'"),
    ("ae_mlp_sparse", dict(sparsity="kl"), ValueError, r"sparsity='kl' .* needs latent_activation='sigmoid'"),
    ("ae_mlp", dict(sparsity="kl", latent_activation="sigmoid", sparsity_target=1.0), ValueError,
     r"sparsity_target must lie in \(0, 1\)"),
    ("ae_conv", dict(img_size=30), ValueError,
     r"ConvAutoencoder: img_size must be divisible by 2\*\*len\(channels\) = 4"),
    ("ae_conv", dict(kernel_size=4), ValueError, r"ConvAutoencoder: kernel_size must be odd"),
    ("ae_conv", dict(channels=[]), TypeError, r"ConvAutoencoder: channels must be a non-empty list"),
])
def test_bad_config(name, kwargs, err, pattern):
    with pytest.raises(err, match=pattern):
        create_model(name, **kwargs)


def test_bad_input():
    mlp = create_model("ae_mlp", input_dim=12, hidden_dims=[6], latent_dim=3)
    with pytest.raises(ValueError, match=r"ae_mlp: input must be features of shape \(N, 12\), got \(2, 10\)"):
        mlp(fg.rand(2, 10))
    with pytest.raises(TypeError, match=r"ae_mlp: input must be floating point, got dtype int64"):
        mlp(fg.zeros(2, 12, dtype=fg.int64))
    assert tuple(mlp(fg.rand(2, 3, 4)).shape) == (2, 3, 4)  # (N, *) with 12 elements is fine
    conv = create_model("ae_conv", img_size=8, channels=[4])
    with pytest.raises(ValueError, match=r"ae_conv: input must be images of shape \(N, 1, 8, 8\), got \(2, 1, 6, 6\)"):
        conv(fg.rand(2, 1, 6, 6))
    den = create_model("ae_mlp_denoising", input_dim=12).train()
    with pytest.raises(ValueError, match=r"ae_mlp_denoising: noise must be a Tensor of the input's shape \(2, 12\)"):
        den(fg.rand(2, 12), noise=fg.rand(1, 12))
    with pytest.raises(ValueError, match=r"ae_mlp.loss: reconstruction must be 'mse' or 'bce'"):
        mlp.loss(fg.rand(2, 12), reconstruction="l1")
