"""The `ferrograd` command."""

from __future__ import annotations

import argparse


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="ferrograd", description="ferrograd command line")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="train a small MLP on scikit-learn's digits")
    demo.add_argument("--epochs", type=int, default=15)
    demo.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.command == "demo":
        from .demo import run

        history = run(epochs=args.epochs, seed=args.seed)
        print(f"final test accuracy {history[-1]:.4f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
