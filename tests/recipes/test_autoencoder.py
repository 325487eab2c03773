"""The autoencoder recipe in quick mode: every check holds, the metrics are finite, the plots and the
checkpoint exist; plus its helpers against numpy."""

import pytest
from recipe_asserts import assert_passed

from ferrograd.recipes import autoencoder


def test_quick_cpu(tmp_path):
    res = autoencoder.run(seed=0, quick=True, out_dir=tmp_path)
    assert_passed(res, "autoencoder", metrics={"ae_mse", "code_probe_acc", "dae_noisy_mse", "identity_noisy_mse",
                                               "pca_mse", "raw_probe_acc"})
    assert sorted(res["plots"]) == sorted(str(tmp_path / f"autoencoder_{p}.png") for p in ['loss', 'reconstructions'])
    assert (tmp_path / "autoencoder_checkpoint.safetensors").exists()


def test_pca_reconstruct_matches_sklearn():
    np = pytest.importorskip("numpy")
    decomposition = pytest.importorskip("sklearn.decomposition")
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(50, 12)), rng.normal(size=(7, 12))
    pca = decomposition.PCA(n_components=3).fit(a)
    ref = pca.inverse_transform(pca.transform(b))
    np.testing.assert_allclose(autoencoder.pca_reconstruct(a, b, 3), ref, rtol=1e-6, atol=1e-8)
