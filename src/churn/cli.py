"""The `churn` command: parse arguments, call a stage, print what it did. Nothing else."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import traceback
from pathlib import Path

from churn.errors import ChurnError


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date like 2024-06-30, got {text!r}") from None


def _dates(text: str) -> list[dt.date]:
    return [_date(part.strip()) for part in text.split(",") if part.strip()]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="churn", description="Churn prediction pipeline stages.")
    parser.add_argument("--debug", action="store_true", help="show the full traceback on errors")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("generate", help="write the built-in synthetic world to data/raw/synthetic/")
    sub.add_parser("ingest", help="validate and type the raw tables into data/interim/")
    features = sub.add_parser("features", help="point-in-time snapshots at the training and test cutoffs")
    features.add_argument(
        "--transactions", help="snapshots of this transactions file (mapped by params) instead of data/interim/"
    )
    features.add_argument(
        "--cutoffs",
        type=_dates,
        help="as-of days, comma-separated, e.g. 2024-01-31,2024-02-29 (default: the plan from params)",
    )
    features.add_argument(
        "--output", type=Path, help="write snapshots here (.csv or .parquet); needed with the options above"
    )
    sub.add_parser("train", help="train LightGBM, save models/model.txt, log an MLflow run")
    sub.add_parser("evaluate", help="out-of-time metrics and plots; champion decision")
    score = sub.add_parser("score", help="risk, reasons, value and retention action per customer")
    score.add_argument(
        "--transactions", help="score this transactions file (mapped by params) instead of data/interim/"
    )
    score.add_argument("--customers", type=Path, help="CSV or Parquet list with a customer_id column: score just these")
    score.add_argument("--as-of", type=_date, help="last day of history to score with (default: newest in data)")
    score.add_argument("--model", help="MLflow model URI, e.g. models:/churn-model@champion (default: models/)")
    score.add_argument("--output", type=Path, help="write scores here (.csv or .parquet) instead of data/scores/")
    sub.add_parser("report", help="retention KPIs, cohorts and action summary; reports/index.html")
    sub.add_parser("summary", help="print the headline metrics and where the outputs are")
    return parser


def _output(path: Path | None) -> Path | None:
    """--output as an absolute path; only .csv or .parquet, the formats written."""
    if path is None:
        return None
    if path.suffix not in {".csv", ".parquet"}:
        raise ChurnError(f"--output {path}: use a .csv or .parquet file name")
    return path.resolve()


def _run(args: argparse.Namespace) -> dict:
    # Imported here so `churn --help` stays fast and a stage loads only what it needs.
    from churn.config import load_params, project_root

    root = project_root()
    params = load_params(root / "params.yaml")
    if args.command == "summary":
        from churn.summary import headline

        print(headline(root))
        return {}
    import importlib

    stage = importlib.import_module(f"churn.stages.{args.command}")
    if args.command == "score":
        return stage.run(
            root,
            params,
            transactions=args.transactions,
            customers=args.customers.resolve() if args.customers else None,
            as_of=args.as_of,
            model_uri=args.model,
            output=_output(args.output),
        )
    if args.command == "features":
        return stage.run(
            root, params, transactions=args.transactions, cutoffs=args.cutoffs, output=_output(args.output)
        )
    return stage.run(root, params)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        result = _run(args)
    except ChurnError as exc:
        if args.debug:
            traceback.print_exc()
        print(f"churn {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"churn {args.command}: interrupted; previous outputs are left as they were", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug, not bad input: say so briefly, traceback on request
        if args.debug:
            traceback.print_exc()
        print(
            f"churn {args.command}: unexpected error: {type(exc).__name__}: {exc}\n"
            "Previous outputs are left as they were. Run with --debug for the traceback.",
            file=sys.stderr,
        )
        return 1
    if result:
        print(json.dumps(result, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
