"""Image transforms: flip, resized crop, noise, normalize, ToTensor, determinism."""

import numpy as np
import pytest

import ferrograd as fg
from ferrograd.data import transforms as T
from ferrograd.data.transforms import functional as F


def _img(c=3, h=8, w=10, seed=0):
    return np.random.default_rng(seed).random((c, h, w)).astype(np.float32)


def test_resize_matches_torch_bilinear():
    # torch.nn.functional.interpolate(x[None], size=(5, 3), mode='bilinear', align_corners=False)
    expected = np.array([[0.16666669, 1.5, 2.8333335],
                         [1.7666668, 3.1000001, 4.433334],
                         [4.1666665, 5.5, 6.8333335],
                         [6.5666676, 7.9000006, 9.233335],
                         [8.166666, 9.5, 10.833333]], dtype=np.float32)
    x = np.arange(12, dtype=np.float32).reshape(1, 3, 4)
    np.testing.assert_allclose(F.resize(x, (5, 3))[0], expected, atol=1e-5)


def test_resize_halving_averages_2x2_blocks():
    x = _img(2, 6, 8)
    out = F.resize(x, (3, 4))
    blocks = x.reshape(2, 3, 2, 4, 2).mean(axis=(2, 4))
    np.testing.assert_allclose(out, blocks, rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(F.resize(x, (6, 8)), x)


def test_hflip_flips_and_p_extremes():
    x = _img()
    np.testing.assert_array_equal(T.RandomHorizontalFlip(p=1.0)(x), x[..., ::-1])
    np.testing.assert_array_equal(T.RandomHorizontalFlip(p=0.0)(x), x)
    t = fg.from_numpy(x)
    out = T.RandomHorizontalFlip(p=1.0)(t)
    assert isinstance(out, fg.Tensor)
    np.testing.assert_array_equal(out.numpy()[:, :, 0], x[:, :, -1])


def test_hflip_flips_about_half_the_time():
    flip = T.RandomHorizontalFlip(generator=0)
    x = np.arange(2, dtype=np.float32).reshape(1, 1, 2)
    flipped = sum(flip(x)[0, 0, 0] == 1 for _ in range(400))
    assert 150 < flipped < 250


@pytest.mark.parametrize("size,expected", [(4, (4, 4)), ((5, 7), (5, 7)), (16, (16, 16))])
def test_random_resized_crop_output_size(size, expected):
    crop = T.RandomResizedCrop(size, generator=0)
    for seed in range(5):
        out = crop(_img(3, 12, 9, seed))
        assert out.shape == (3,) + expected and out.dtype == np.float32
    t = crop(fg.from_numpy(_img()))
    assert isinstance(t, fg.Tensor) and t.shape == (3,) + expected


def test_random_resized_crop_params_within_bounds():
    crop = T.RandomResizedCrop(8, scale=(0.2, 0.5), ratio=(0.5, 2.0))
    rng = np.random.default_rng(0)
    for _ in range(200):
        top, left, h, w = crop.get_params(20, 30, rng)
        assert 0 <= top and top + h <= 20 and 0 <= left and left + w <= 30
        assert 0.2 * 600 * 0.7 <= h * w <= 0.5 * 600 * 1.3  # rounding slack


def test_full_scale_crop_is_a_resize():
    x = _img(3, 8, 8)
    crop = T.RandomResizedCrop(4, scale=(1.0, 1.0), ratio=(1.0, 1.0))
    np.testing.assert_allclose(crop(x), F.resize(x, 4), atol=1e-6)


def test_pipeline_deterministic_under_manual_seed():
    aug = T.Compose([T.RandomResizedCrop(6), T.RandomHorizontalFlip(), T.GaussianNoise(0.1)])
    x = fg.from_numpy(_img())
    fg.manual_seed(11)
    a = [aug(x).numpy() for _ in range(3)]
    fg.manual_seed(11)
    b = [aug(x).numpy() for _ in range(3)]
    for u, v in zip(a, b):
        np.testing.assert_array_equal(u, v)
    assert not np.array_equal(a[0], a[1])


def test_multiview_gives_different_views():
    views = T.MultiView(T.Compose([T.RandomResizedCrop(6), T.GaussianNoise(0.1)]), n_views=2)(_img())
    assert len(views) == 2 and views[0].shape == views[1].shape == (3, 6, 6)
    assert not np.array_equal(views[0], views[1])


def test_gaussian_noise_statistics_and_clip():
    x = np.full((3, 64, 64), 0.5, np.float32)
    out = T.GaussianNoise(0.1, generator=0)(x)
    assert abs(float((out - x).std()) - 0.1) < 0.005 and abs(float((out - x).mean())) < 0.005
    clipped = T.GaussianNoise(1.0, clip=True, generator=0)(x)
    assert clipped.min() >= 0 and clipped.max() <= 1
    np.testing.assert_array_equal(T.GaussianNoise(0.0)(x), x)


def test_normalize_per_channel():
    x = _img(3, 4, 4)
    out = T.Normalize([0.1, 0.2, 0.3], [0.5, 1.0, 2.0])(fg.from_numpy(x)).numpy()
    for c, (m, s) in enumerate(zip([0.1, 0.2, 0.3], [0.5, 1.0, 2.0])):
        np.testing.assert_allclose(out[c], (x[c] - m) / s, rtol=1e-6)
    with pytest.raises(ValueError, match="channels"):
        T.Normalize([0.1, 0.2], [1.0, 1.0])(x)
    with pytest.raises(ValueError):
        T.Normalize([0.0], [0.0])


def test_to_tensor():
    hwc = np.zeros((4, 5, 3), np.uint8)
    hwc[0, 1, 2] = 255
    t = T.ToTensor()(hwc)
    assert isinstance(t, fg.Tensor) and t.shape == (3, 4, 5) and t.dtype == fg.float32
    assert t.numpy()[2, 0, 1] == 1.0 and t.numpy().sum() == 1.0
    assert T.ToTensor()(np.full((2, 2), 0.25)).shape == (1, 2, 2)
    with pytest.raises(TypeError):
        T.ToTensor()(np.zeros((2, 2, 3), np.int16))


def test_bad_inputs():
    with pytest.raises(ValueError, match=r"\(C, H, W\)"):
        T.RandomHorizontalFlip()(np.zeros((4, 4), np.float32))
    with pytest.raises(TypeError, match="float"):
        T.RandomResizedCrop(4)(np.zeros((3, 8, 8), np.uint8))
    with pytest.raises(ValueError):
        T.RandomResizedCrop(4, scale=(0.9, 0.1))
    with pytest.raises(TypeError):
        T.RandomHorizontalFlip()([[1.0]])
