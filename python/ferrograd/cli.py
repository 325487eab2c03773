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
    args = parser.parse_args(argv)
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
