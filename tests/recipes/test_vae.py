"""The vae recipe in quick mode: every check holds, the metrics are finite, the plots and the
checkpoint exist; plus its helpers against numpy."""

from recipe_asserts import assert_passed

from ferrograd.recipes import vae


def test_quick_cpu(tmp_path):
    res = vae.run(seed=0, quick=True, out_dir=tmp_path)
    assert_passed(res, "vae", metrics={"elbo_gain", "mean_image_loglik", "mean_image_mse", "recon_mse", "test_elbo",
                                       "test_elbo_epoch1"})
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
