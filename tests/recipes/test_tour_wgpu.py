"""`ferrograd tour --quick --device wgpu`: every recipe trains on the GPU path (Mesa's software
Vulkan in CI) and passes its checks. This one run is every recipe's wgpu test: their own test files
run them on the CPU only, so CI pays for each wgpu training once (about 13 minutes on llvmpipe with
2 shared cores: the quick+wgpu sizes are the recipes' "small GPU" settings). The experiments, which
run on the CPU, follow in quick mode as in every tour."""

import json

import ferrograd as fg
from ferrograd.cli import main


def test_quick_tour_on_wgpu_passes_every_check(tmp_path, capsys, wgpu_device):
    code = main(["tour", "--quick", "--device", wgpu_device, "--out", str(tmp_path)])
    table = capsys.readouterr().out
    tour = json.loads((tmp_path / "tour.json").read_text())
    failed = {r["name"]: r.get("error") or [c for c in r["checks"] if not c["ok"]]
              for r in tour["results"] if "error" in r or not all(c["ok"] for c in r["checks"])}
    assert not failed, f"{failed}\n{table}"
    assert code == 0 and tour["device"] == "wgpu"
    assert [r["name"] for r in tour["results"]] == fg.recipes.list() + fg.experiments.list()
    assert all(r["checks"] for r in tour["results"])
    assert (tmp_path / "report.html").exists()
