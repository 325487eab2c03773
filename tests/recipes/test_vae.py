"""The vae recipe in quick mode: every check holds, the metrics are finite, the plots and the
checkpoint exist; plus its helpers against numpy."""

import math


from ferrograd.recipes import vae


def _assert_ok(res, device):
    assert res["name"] == "vae" and res["device"] == device
    assert set(res["metrics"]) >= {"elbo_gain", "mean_image_loglik", "mean_image_mse",
                                   "recon_mse", "test_elbo", "test_elbo_epoch1"}
    for name, value in res["metrics"].items():
        assert math.isfinite(value), f"metric {name} = {value}"
    assert res["checks"], "the recipe must make at least one check"
    failed = [c for c in res["checks"] if not c["ok"]]
    assert not failed, f"failed checks: {failed}"


def test_quick_cpu(tmp_path, monkeypatch):
    monkeypatch.setenv("FERROGRAD_NO_PROGRESS", "1")
    res = vae.run(seed=0, quick=True, out_dir=tmp_path)
    _assert_ok(res, "cpu")
    assert sorted(res["plots"]) == sorted(str(tmp_path / f"vae_{p}.png") for p in ['elbo', 'samples', 'interpolation'])
    assert (tmp_path / "vae_checkpoint.safetensors").exists()


def test_tile_places_each_digit_in_its_cell():
    import numpy as np

    imgs = np.arange(3 * 64, dtype=np.float32).reshape(3, 64)
    canvas = vae.tile(imgs, ncols=2)
    assert canvas.shape == (2 * 9 + 1, 2 * 9 + 1)
    np.testing.assert_array_equal(canvas[1:9, 10:18], imgs[1].reshape(8, 8))
    np.testing.assert_array_equal(canvas[10:18, 1:9], imgs[2].reshape(8, 8))
    assert not canvas[10:18, 10:18].any()  # the empty cell and the gaps hold no ink
