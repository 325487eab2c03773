"""Torch figures for the programs: each program's `deterministic_run` is run once under real
PyTorch (tests/fixtures/gen/programs.py) and its starting weights and results are stored in
tests/fixtures/program_<name>.npz as "state/<state_dict key>" and "out/<result name>"."""

import pathlib

import numpy as np

FIXTURES = pathlib.Path(__file__).resolve().parents[1] / "fixtures"


def path(name):
    return FIXTURES / f"program_{name}.npz"


def load(name):
    """(state, outputs): the torch state_dict as numpy arrays, and the recorded results."""
    with np.load(path(name)) as z:
        state = {k[len("state/"):]: z[k] for k in z.files if k.startswith("state/")}
        outputs = {k[len("out/"):]: z[k] for k in z.files if k.startswith("out/")}
    return state, outputs


def save(name, state, outputs):
    arrays = {f"state/{k}": np.asarray(v) for k, v in state.items()}
    arrays.update({f"out/{k}": np.asarray(v) for k, v in outputs.items()})
    np.savez_compressed(path(name), **arrays)


def assert_matches(got, expected, rtol=1e-4, atol=1e-5):
    """Every recorded result is there, with torch's shape, dtype kind and values."""
    missing = sorted(set(expected) - set(got))
    assert not missing, f"results missing: {missing}"
    for k, want in expected.items():
        have = np.asarray(got[k])
        assert have.shape == want.shape, f"{k}: shape {have.shape}, torch gives {want.shape}"
        assert have.dtype.kind == want.dtype.kind, f"{k}: dtype {have.dtype}, torch gives {want.dtype}"
        if want.dtype.kind in "biu":
            np.testing.assert_array_equal(have, want, err_msg=k)
        else:
            np.testing.assert_allclose(have, want, rtol=rtol, atol=atol, err_msg=k)


def check_against_torch(name, device, runs, **tolerances):
    """Build program `name` from `runs` ({name: (make_model, run)}), load torch's starting weights
    and compare what `run` returns with the torch figures."""
    import ferrograd as torch

    state, expected = load(name)
    make, run = runs[name]
    model = make()
    model.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()})
    assert_matches(run(model, device), expected, **tolerances)
