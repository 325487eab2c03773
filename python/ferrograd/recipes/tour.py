"""`ferrograd tour`: run every recipe, then every experiment in quick mode, print one table of
their checks, and write tour.json, the plots and a report.html that shows them."""

from __future__ import annotations

import html
import json
import os
import time

from . import get, list as recipe_names


def run_tour(quick: bool = False, out_dir: str = "tour", json_path: str | None = None, device: str = "cpu",
             seed: int = 0, names=None, experiment_names=None, log=print) -> dict:
    """Every recipe (or `names`) in order on `device`, then every experiment (or
    `experiment_names`; none when only `names` is given) in quick mode on the CPU — the
    experiments' full runs are sweeps of many models, `ferrograd experiment NAME` runs them. A
    run that raises is reported as failed, and the tour goes on.
    Returns {"results": [...], "ok": bool, "seconds": s}."""
    from .. import experiments

    os.makedirs(out_dir, exist_ok=True)
    started = time.perf_counter()
    if experiment_names is None:
        experiment_names = experiments.list() if names is None else []
    runs = [(name, lambda name=name: get(name).run(seed=seed, quick=quick, device=device, out_dir=out_dir))
            for name in names or recipe_names()]
    runs += [(name, lambda name=name: experiments.get(name).run(seed=seed, quick=True, out_dir=out_dir))
             for name in experiment_names]
    results = []
    for name, run in runs:
        log(f"── {name}")
        try:
            result = run()
        except Exception as e:  # noqa: BLE001  (the tour reports it and goes on)
            result = {"name": name, "error": f"{type(e).__name__}: {e}", "metrics": {}, "checks": [],
                      "plots": [], "seconds": 0.0}
        results.append(result)
        log(format_rows([result]))
    tour = {"quick": quick, "device": device, "seed": seed, "results": results,
            "ok": all(_passed(r) for r in results), "seconds": time.perf_counter() - started}
    with open(json_path or os.path.join(out_dir, "tour.json"), "w", encoding="utf-8") as f:
        json.dump(tour, f, indent=2)
    write_report(tour, os.path.join(out_dir, "report.html"))
    log("")
    log(format_rows(results, header=True))
    log(f"\n{sum(_passed(r) for r in results)}/{len(results)} recipes and experiments pass every check "
        f"in {tour['seconds']:.0f} s; report: {os.path.join(out_dir, 'report.html')}")
    return tour


def _passed(result: dict) -> bool:
    return "error" not in result and all(c["ok"] for c in result["checks"])


def format_rows(results, header: bool = False) -> str:
    names = [c["name"] for r in results for c in r["checks"]]
    w = max([24, *map(len, names)]) + 2  # the metric column fits the longest check name
    lines = []
    if header:
        lines.append(f"{'recipe':<22}{'metric':<{w}}{'value':>10}  {'threshold':<12}{'ok':<5}{'seconds':>8}")
    for r in results:
        if "error" in r:
            lines.append(f"{r['name']:<22}{'ERROR':<{w}}{'':>10}  {'':<12}{'no':<5}{r['seconds']:>8.1f}  {r['error']}")
            continue
        for i, c in enumerate(r["checks"]):
            secs = f"{r['seconds']:>8.1f}" if i == 0 else ""
            threshold = f"{c['op']} {c['threshold']:.4g}"
            lines.append(f"{r['name'] if i == 0 else '':<22}{c['name']:<{w}}{c['value']:>10.4f}  "
                         f"{threshold:<12}{'yes' if c['ok'] else 'NO':<5}{secs}")
    return "\n".join(lines)


def write_report(tour: dict, path: str) -> None:
    """One HTML page: the table of checks, then each recipe's metrics and plots."""
    esc = html.escape
    rows = []
    for r in tour["results"]:
        for c in r["checks"] or [{"name": "error", "value": float("nan"), "op": "", "threshold": float("nan"),
                                  "ok": False}]:
            rows.append(f"<tr class={'ok' if c['ok'] else 'bad'}><td>{esc(r['name'])}</td><td>{esc(c['name'])}</td>"
                        f"<td>{c['value']:.4f}</td><td>{esc(c['op'])} {c['threshold']:g}</td>"
                        f"<td>{'yes' if c['ok'] else 'no'}</td><td>{r['seconds']:.1f}</td></tr>")
    sections = []
    for r in tour["results"]:
        metrics = ", ".join(f"{esc(k)} = {v:.4g}" for k, v in r["metrics"].items())
        images = "".join(f'<img src="{esc(os.path.basename(p))}" alt="{esc(os.path.basename(p))}">'
                         for p in r.get("plots", []))
        error = f"<pre>{esc(r['error'])}</pre>" if "error" in r else ""
        sections.append(f"<h2>{esc(r['name'])}</h2><p>{metrics}</p>{error}{images}")
    page = f"""<!doctype html><meta charset="utf-8"><title>ferrograd tour</title>
<style>body{{font-family:sans-serif;max-width:1100px;margin:auto}} td,th{{padding:2px 10px}}
tr.bad{{background:#fdd}} img{{max-width:520px;margin:4px;border:1px solid #ccc}}</style>
<h1>ferrograd tour</h1><p>{'quick' if tour['quick'] else 'full'} run on {esc(tour['device'])}, seed {tour['seed']},
{tour['seconds']:.0f} s; {'every check passes' if tour['ok'] else 'some checks fail'}.</p>
<table><tr><th>recipe</th><th>metric</th><th>value</th><th>threshold</th><th>ok</th><th>seconds</th></tr>
{''.join(rows)}</table>{''.join(sections)}"""
    with open(path, "w", encoding="utf-8") as f:
        f.write(page)
