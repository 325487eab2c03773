"""Markdown tables from pytest-benchmark JSON files: one table per group (and thread setting), one row
per case, a column per library and the ratio torch / ferrograd (> 1: ferrograd is faster).

    pytest benches/ --benchmark-only --benchmark-json run.json [--threads N]
    python benches/results_table.py run.json [more.json ...] [--stat min|median|mean]
           [--update benches/RESULTS.md]

Several files: a case measured in more than one keeps its best (lowest) figure; runs with different
--threads get separate tables. --update rewrites the part of the file between the markers
`<!-- results_table:begin -->` and `<!-- results_table:end -->` (nothing else) instead of printing.
"""

from __future__ import annotations

import argparse
import json
import math
import pathlib
import sys

LIBS = ("ferrograd", "compiled", "numpy", "torch")  # compiled: ferrograd's step under fg.compile
GROUP_ORDER = ("elementwise", "matmul", "conv", "attention", "norms", "losses", "rnn", "mixing", "train_step",
               "train_step_large")
BEGIN, END = "<!-- results_table:begin -->", "<!-- results_table:end -->"


def _lib_and_case(bench: dict) -> tuple[str, str]:
    """From the extra_info that benches/conftest.py records; for other JSON, from the test's params."""
    info = bench.get("extra_info") or {}
    if "lib" in info and "case" in info:
        return info["lib"], info["case"]
    params = dict(bench.get("params") or {})
    lib = str(params.pop("lib", "ferrograd"))
    base = bench["name"].split("[", 1)[0].removeprefix("test_")
    return lib, " ".join([base, *map(str, params.values())])


def load(paths, stat: str = "min") -> tuple[dict, list[str]]:
    """{(group, threads): {case: {lib: seconds}}} (best over files) and one description line per file."""
    tables: dict = {}
    about = []
    for path in paths:
        try:
            data = json.loads(pathlib.Path(path).read_text())
        except (OSError, json.JSONDecodeError) as e:
            raise SystemExit(f"results_table: cannot read {path}: {e}") from None
        if "benchmarks" not in data:
            raise SystemExit(f"results_table: {path} is not a pytest-benchmark JSON file (no 'benchmarks' key)")
        m = data.get("machine_info", {})
        cpu = (m.get("cpu") or {}).get("brand_raw") or m.get("processor") or m.get("machine", "?")
        count = (m.get("cpu") or {}).get("count", "?")
        about.append(f"{path}: {data.get('datetime', '?')[:19]}, {cpu}, {count} cpus, python "
                     f"{m.get('python_version', '?')}, threads {m.get('threads', 'default')}"
                     + (f", torch {m['torch']}" if "torch" in m else ""))
        for b in data["benchmarks"]:
            lib, case = _lib_and_case(b)
            threads = str((b.get("extra_info") or {}).get("threads", m.get("threads", "default")))
            key = (b.get("group") or "(no group)", threads)
            row = tables.setdefault(key, {}).setdefault(case, {})
            row[lib] = min(row.get(lib, math.inf), b["stats"][stat])
    return tables, about


def fmt_time(s: float | None) -> str:
    if s is None or not math.isfinite(s):
        return "–"
    for unit, scale in (("µs", 1e6), ("ms", 1e3)):
        if s * scale < 1000:
            v = s * scale
            return f"{v:.2f} {unit}" if v < 10 else f"{v:.1f} {unit}" if v < 100 else f"{v:.0f} {unit}"
    return f"{s:.2f} s"


def render(tables: dict, about: list[str], stat: str = "min") -> str:
    several_threads = len({t for _, t in tables}) > 1
    order = {g: i for i, g in enumerate(GROUP_ORDER)}
    out = [f"Statistic: {stat} per call. Ratio = torch / ferrograd (> 1: ferrograd is faster); "
           "compiled = ferrograd's step captured by fg.compile.", ""]
    out += [f"- {line}" for line in about] + [""]
    for group, threads in sorted(tables, key=lambda k: (order.get(k[0], len(order)), k[0], k[1])):
        title = f"{group}" + (f", threads {threads}" if several_threads or threads != "default" else "")
        out += [f"#### {title}", "", "| case | " + " | ".join(LIBS) + " | torch/ferrograd |",
                "|---|" + "---|" * (len(LIBS) + 1)]
        rows = tables[(group, threads)]
        libs = [lib for lib in LIBS if lib != "compiled" or any("compiled" in r for r in rows.values())]
        out[-2:] = ["| case | " + " | ".join(libs) + " | torch/ferrograd |"
                    + (" torch/compiled |" if "compiled" in libs else ""),
                    "|---|" + "---|" * (len(libs) + 1 + ("compiled" in libs))]
        for case, row in rows.items():
            f, t, c = row.get("ferrograd"), row.get("torch"), row.get("compiled")
            ratio = f"{t / f:.2f}" if f and t else "–"
            line = f"| {case} | " + " | ".join(fmt_time(row.get(lib)) for lib in libs) + f" | {ratio} |"
            if "compiled" in libs:
                line += f" {t / c:.2f} |" if c and t else " – |"
            out.append(line)
        out.append("")
    return "\n".join(out)


def update(path: str, text: str) -> None:
    p = pathlib.Path(path)
    doc = p.read_text()
    if BEGIN not in doc or END not in doc or doc.index(BEGIN) > doc.index(END):
        raise SystemExit(f"results_table: {path} has no {BEGIN} ... {END} block to rewrite")
    head, rest = doc.split(BEGIN, 1)
    tail = rest.split(END, 1)[1]
    p.write_text(f"{head}{BEGIN}\n{text}\n{END}{tail}")



def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("json", nargs="+", help="files written by pytest --benchmark-json")
    ap.add_argument("--stat", choices=["min", "median", "mean"], default="min",
                    help="which statistic per case (default: min, the least disturbed by other load)")
    ap.add_argument("--update", metavar="MARKDOWN", help="rewrite the results_table block of this file")
    args = ap.parse_args(argv)
    text = render(*load(args.json, args.stat), args.stat)
    if args.update:
        update(args.update, text)
    else:
        sys.stdout.write(text + "\n")


if __name__ == "__main__":
    main()
