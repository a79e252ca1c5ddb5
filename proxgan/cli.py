"""The ``proxgan`` console script: argument parsing only; every command calls the library."""
from __future__ import annotations

import argparse
from collections.abc import Sequence

__all__ = ["main", "build_parser"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="proxgan", description="Proximal optimizers for PyTorch.")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="a short tour of the toolkit on embedded data")
    demo.add_argument("--out", default="results/demo", help="folder for report.md (default: results/demo)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "demo":
        from proxgan.demo import run_demo

        run_demo(args.out)
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
