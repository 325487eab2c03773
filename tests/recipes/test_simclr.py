"""The simclr recipe in quick mode: every check holds, the metrics are finite, the plots and the
checkpoint exist; plus its helpers against numpy."""

from recipe_asserts import assert_passed

from ferrograd.recipes import simclr


def test_quick_cpu(tmp_path):
    res = simclr.run(seed=0, quick=True, out_dir=tmp_path)
    assert_passed(res, "simclr", metrics={"gain", "probe_acc", "random_encoder_probe_acc", "raw_probe_acc"})
    assert sorted(res["plots"]) == sorted(str(tmp_path / f"simclr_{p}.png") for p in ['loss', 'views'])
    assert (tmp_path / "simclr_encoder.safetensors").exists()


def test_nt_xent_matches_numpy_reference():
    import numpy as np

    import ferrograd as fg

    rng = np.random.default_rng(0)
    z1, z2 = rng.normal(size=(5, 3)), rng.normal(size=(5, 3))
    tau = 0.5
    # reference: for each of the 2N views, -log softmax over the other 2N - 1 views at its partner
    z = np.concatenate([z1, z2])
    z = z / np.linalg.norm(z, axis=1, keepdims=True)
    sim = z @ z.T / tau
    np.fill_diagonal(sim, -np.inf)
    partner = np.concatenate([np.arange(5, 10), np.arange(5)])
    logp = sim - np.log(np.exp(sim).sum(1, keepdims=True))
    ref = -logp[np.arange(10), partner].mean()
    got = simclr.nt_xent(fg.tensor(z1), fg.tensor(z2), tau).item()
    assert abs(got - ref) < 1e-6 * max(1.0, abs(ref))


def test_random_resized_crop_full_box_is_identity():
    import numpy as np

    x = np.random.default_rng(1).random((4, 1, 8, 8)).astype(np.float32)
    out = simclr.random_resized_crop(x, np.random.default_rng(0), scale=(1.0, 1.0), ratio=(1.0, 1.0))
    assert out.shape == x.shape and out.dtype == x.dtype
    np.testing.assert_allclose(out, x, atol=1e-6)
