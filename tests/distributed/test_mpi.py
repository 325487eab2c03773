"""Two-process tests: each launches `mpiexec -n 2 python <worker>` and checks what it wrote.
Skipped when mpi4py or mpiexec is missing (pip install 'ferrograd[distributed]')."""

import importlib.util
import os
import shutil
import subprocess
import sys
import time

import numpy as np
import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
MPIEXEC = next((p for p in (os.path.join(sys.prefix, "bin", "mpiexec"), shutil.which("mpiexec")) if p and os.path.exists(p)),
               None)
pytestmark = pytest.mark.skipif(importlib.util.find_spec("mpi4py") is None or MPIEXEC is None,
                                reason="needs mpi4py and mpiexec (pip install mpi4py mpich)")


def _env():
    env = dict(os.environ, OMP_NUM_THREADS="1", RAYON_NUM_THREADS="1")  # 2 ranks x 1 thread on 2 cores
    import ferrograd

    src = os.path.dirname(os.path.dirname(ferrograd.__file__))  # the ferrograd under test, for the ranks too
    env["PYTHONPATH"] = src + os.pathsep + env.get("PYTHONPATH", "")
    return env


def mpirun(*args, timeout=240, n=2):
    return subprocess.run([MPIEXEC, "-n", str(n), sys.executable, *args], env=_env(), capture_output=True,
                          text=True, timeout=timeout)


def single(*args):
    subprocess.run([sys.executable, *args], env=_env(), check=True, timeout=240)


def _max_diff(a_path, b_path):
    a, b = np.load(a_path), np.load(b_path)
    assert sorted(a.files) == sorted(b.files)
    return max(float(np.abs(a[k] - b[k]).max()) for k in a.files)


def test_collectives():
    r = mpirun(os.path.join(HERE, "worker_collectives.py"))
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.count("collectives ok") == 2


@pytest.mark.parametrize("mode", ["mlp", "transformer", "accumulate", "unused"])
def test_ddp_equals_one_process_with_the_doubled_batch(mode, tmp_path):
    worker = os.path.join(HERE, "worker_ddp.py")
    r = mpirun(worker, mode, str(tmp_path))
    assert r.returncode == 0, r.stdout + r.stderr
    single(worker, mode, str(tmp_path), "--single")
    assert _max_diff(tmp_path / f"{mode}.npz", tmp_path / f"{mode}_single.npz") <= 1e-6


def test_ddp_batchnorm_keeps_per_rank_statistics_and_syncbatchnorm_shares_them(tmp_path):
    worker = os.path.join(HERE, "worker_ddp.py")
    for mode in ("bn", "syncbn"):
        r = mpirun(worker, mode, str(tmp_path))
        assert r.returncode == 0, r.stdout + r.stderr
    single(worker, "bn", str(tmp_path), "--single")
    single(worker, "bn", str(tmp_path), "--single", "--per-rank-bn")
    # DDP + BatchNorm = torch's DDP: each rank's half normalised alone, gradients averaged,
    # running statistics rank 0's (broadcast at each forward)
    assert _max_diff(tmp_path / "bn.npz", tmp_path / "bn_per_rank_single.npz") <= 1e-6
    # SyncBatchNorm = one process with the doubled batch (weights, biases and running statistics)
    assert _max_diff(tmp_path / "syncbn.npz", tmp_path / "bn_single.npz") <= 1e-6
    # and the two differ, so the comparisons above can fail
    assert _max_diff(tmp_path / "bn.npz", tmp_path / "bn_single.npz") > 1e-3


@pytest.mark.parametrize("how,message", [("raise", "ValueError: rank one failed on purpose"),
                                         ("timeout", "timed out after 2 s")])
def test_a_failing_rank_ends_the_job_with_its_error(how, message):
    start = time.perf_counter()
    r = mpirun(os.path.join(HERE, "worker_fault.py"), how, timeout=90)
    took = time.perf_counter() - start
    assert r.returncode != 0
    failing = "[rank 1]" if how == "raise" else "[rank 0]"
    assert any(message in line and line.startswith(failing) for line in r.stderr.splitlines()), r.stderr
    assert took < 60


def test_collectives_on_wgpu_tensors():
    from ferrograd.wgpu import NoAdapterError, runtime

    try:
        runtime.get()
    except NoAdapterError as e:
        pytest.skip(f"no WebGPU adapter: {e}")
    r = mpirun(os.path.join(HERE, "worker_collectives.py"), "--wgpu")
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.count("collectives ok") == 2


def test_fit_under_mpiexec_equals_one_process_and_its_checkpoint_resumes_on_any_world_size(tmp_path):
    worker = os.path.join(HERE, "worker_fit.py")
    r = mpirun(worker, "train", str(tmp_path), "ddp")
    assert r.returncode == 0, r.stdout + r.stderr
    single(worker, "train", str(tmp_path), "single")
    # parameters, train loss, val loss and accuracy (val split over the ranks, totals summed)
    assert _max_diff(tmp_path / "train_ddp.npz", tmp_path / "train_single.npz") <= 1e-6
    assert "hist1_val_acc" in np.load(tmp_path / "train_ddp.npz").files
    # only rank 0 wrote, with the plain model's keys: resume the 2-rank checkpoint in one process
    # and the one-process checkpoint on 2 ranks
    single(worker, "resume", str(tmp_path), "from_ddp", str(tmp_path / "ckpt_ddp.safetensors"))
    r = mpirun(worker, "resume", str(tmp_path), "from_single", str(tmp_path / "ckpt_single.safetensors"))
    assert r.returncode == 0, r.stdout + r.stderr
    assert _max_diff(tmp_path / "resume_from_ddp.npz", tmp_path / "resume_from_single.npz") <= 1e-6
    moved = np.load(tmp_path / "resume_from_ddp.npz")["0.weight"] - np.load(tmp_path / "train_single.npz")["0.weight"]
    assert np.abs(moved).max() > 1e-4  # it trained on


def test_recipe_under_mpiexec_rank0_writes_and_prints(tmp_path):
    r = subprocess.run([MPIEXEC, "-n", "2", sys.executable, "-m", "ferrograd", "run", "mlp_digits", "--quick",
                        "--out", str(tmp_path)], env=dict(_env(), FERROGRAD_NO_PROGRESS="1"), capture_output=True,
                       text=True, timeout=240)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.count("test_acc") == 2  # one table and one metrics line: rank 0's only
    assert sorted(os.listdir(tmp_path)) == ["mlp_digits_checkpoint.safetensors", "mlp_digits_loss.png"]
