"""The `ferrograd` command."""

from __future__ import annotations

import argparse


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="ferrograd", description="ferrograd command line")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="train a small MLP on scikit-learn's digits")
    demo.add_argument("--epochs", type=int, default=15)
    demo.add_argument("--seed", type=int, default=0)
    models = sub.add_parser("models", help="list the model zoo with parameter counts",
                            description="List the registered models (fg.models.create_model names) with their "
                                        "parameter counts. Counting builds each model once, which takes a few seconds "
                                        "for the paper-size ones.")
    models.add_argument("pattern", nargs="?", default="*", help="shell-style wildcard, e.g. 'resnet*' (default: all)")
    models.add_argument("--no-count", action="store_true", help="list names only, without building the models")
    tour = sub.add_parser("tour", help="run every recipe and report its checks (the main job)",
                          description="Run every training recipe of the course on real data, then each generalisation "
                                      "experiment in quick mode, print one table "
                                      "(recipe, metric, value, threshold, ok, seconds) and write tour.json, the "
                                      "plots and report.html into --out. The full tour takes about 10 minutes on "
                                      "2 CPU cores, --quick about 3.")
    tour.add_argument("--quick", action="store_true", help="smaller data and fewer steps (same checks)")
    tour.add_argument("--out", default="tour", help="folder for tour.json, plots and report.html (default: tour)")
    tour.add_argument("--json", default=None, help="where to write tour.json (default: OUT/tour.json)")
    tour.add_argument("--device", default="cpu", choices=["cpu", "wgpu"])
    tour.add_argument("--seed", type=int, default=0)
    run = sub.add_parser("run", help="run one recipe (`ferrograd run --list` lists them)")
    run.add_argument("name", nargs="?", help="the recipe, e.g. vae")
    run.add_argument("--list", action="store_true", help="list the recipes and exit")
    run.add_argument("--seed", type=int, default=0)
    run.add_argument("--quick", action="store_true")
    run.add_argument("--device", default="cpu", choices=["cpu", "wgpu"])
    run.add_argument("--out", default=None, help="folder for plots and checkpoints")
    experiment = sub.add_parser("experiment", help="run one experiment: bias_variance, double_descent, sharpness",
                                description="Run one of the generalisation experiments (fg.experiments): print its "
                                            "checks and write its plot into --out. `--list` lists them.")
    experiment.add_argument("name", nargs="?", help="the experiment, e.g. double_descent")
    experiment.add_argument("--list", action="store_true", help="list the experiments and exit")
    experiment.add_argument("--seed", type=int, default=0)
    experiment.add_argument("--quick", action="store_true", help="a smaller sweep (what the tour runs)")
    experiment.add_argument("--out", default=".", help="folder for the plot (default: the current folder)")
    args = parser.parse_args(argv)
    if args.command == "tour":
        from .recipes.tour import run_tour

        result = run_tour(quick=args.quick, out_dir=args.out, json_path=args.json, device=args.device, seed=args.seed)
        return 0 if result["ok"] else 1
    if args.command in ("run", "experiment"):
        from . import experiments, recipes
        from .recipes.tour import format_rows

        kind = recipes if args.command == "run" else experiments
        if args.list or not args.name:
            print("\n".join(kind.list()))
            return 0 if args.list else 2
        if args.command == "run":
            from .distributed import data_parallel

            data_parallel.init_if_launched()  # `mpiexec -n N ferrograd run ...`: fit trains data-parallel
            result = recipes.run(args.name, seed=args.seed, quick=args.quick, device=args.device, out_dir=args.out)
            if not data_parallel.is_main_process():  # rank 0 prints the table
                return 0 if all(c["ok"] for c in result["checks"]) else 1
        else:
            result = experiments.run(args.name, seed=args.seed, quick=args.quick, out_dir=args.out)
        print(format_rows([result], header=True))
        print("metrics:", ", ".join(f"{k}={v:.4g}" for k, v in result["metrics"].items()))
        return 0 if all(c["ok"] for c in result["checks"]) else 1
    if args.command == "models":
        from .models.listing import print_models

        return print_models(args.pattern, count=not args.no_count)
    if args.command == "demo":
        from .demo import run

        history = run(epochs=args.epochs, seed=args.seed)
        print(f"final test accuracy {history[-1]:.4f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
