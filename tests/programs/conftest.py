"""Acceptance programs: ordinary PyTorch programs run with `import ferrograd as torch`.

Every test here is marked `programs` (select with `-m programs`, leave out with `-m "not programs"`).
The `device` fixture runs a program on "cpu" and on "wgpu"; the wgpu case is also marked `wgpu` and
is skipped, with the reason, when no WebGPU adapter exists. As in tests/wgpu/conftest.py the adapter
is opened when the first wgpu case runs, never at collection (llvmpipe's LLVM must not load before
other suites import torch).

The programs are plain PyTorch: tests/fixtures/gen/run_programs_under_torch.py runs this folder,
unchanged, under real torch (all must pass there); tests/fixtures/gen/programs.py and
tests/fixtures/gen/everyday_calls.py rewrite the torch figures the tests compare with.
"""

import pathlib

import pytest

HERE = pathlib.Path(__file__).resolve().parent


class _ImportFailed(pytest.Item):
    """Stands in for a program whose imports fail (say `from ferrograd.utils.data import DataLoader`
    before that module exists): one failing test with the import error, instead of a collection
    error that would interrupt every other suite in the same pytest run."""

    def __init__(self, *, message, **kwargs):
        super().__init__(**kwargs)
        self.message = message

    def runtest(self):
        pytest.fail(self.message, pytrace=False)

    def reportinfo(self):
        return self.path, None, self.name


class _ProgramModule(pytest.Module):
    def collect(self):
        try:
            self.obj  # imports the program
        except self.CollectError as e:
            return [_ImportFailed.from_parent(self, name="test_imports", message=str(e))]
        return super().collect()


def pytest_pycollect_makemodule(module_path, parent):
    if module_path.name.startswith("test_") and HERE in pathlib.Path(module_path).resolve().parents:
        return _ProgramModule.from_parent(parent, path=module_path)
    return None


def pytest_configure(config):
    config.addinivalue_line("markers", "programs: acceptance tests written as ordinary PyTorch programs")
    config.addinivalue_line("markers", "wgpu: runs on the wgpu device (skipped when there is no adapter)")


def pytest_collection_modifyitems(config, items):
    for item in items:
        if HERE in pathlib.Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.programs)


@pytest.fixture(params=["cpu", pytest.param("wgpu", marks=pytest.mark.wgpu)])
def device(request):
    """The device string a user would pass to `.to(device)`."""
    if request.param == "wgpu":
        from ferrograd.wgpu import is_available

        if not is_available():
            pytest.skip("no WebGPU adapter")
    return request.param
