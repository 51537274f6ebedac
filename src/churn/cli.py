"""The `churn` command: parse arguments, call a stage, print what it did. Nothing else."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
import traceback
from pathlib import Path

from churn.errors import ChurnError, storage_error


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date like 2024-06-30, got {text!r}") from None


def _dates(text: str) -> list[dt.date]:
    return [_date(part.strip()) for part in text.split(",") if part.strip()]


HELP = {
    "generate": (
        "write the built-in synthetic world to data/raw/synthetic/",
        "Writes transactions, events, customers and contacts of a synthetic shop (generate.* params),\n"
        "and its ground truth to data/truth/ (never read by the pipeline).",
        "churn generate",
    ),
    "ingest": (
        "validate and type the raw tables into data/interim/",
        "Maps columns (data.columns), types and checks every row; bad rows fail the run or go to\n"
        "data/interim/quarantine.csv (data.on_bad_rows). reports/ingest.json accounts for every row.",
        "churn ingest",
    ),
    "features": (
        "point-in-time snapshots at the training and test cutoffs",
        "Without options: the DVC stage (data/processed/snapshots.parquet and cutoffs.json).\n"
        "With --transactions or --cutoffs: snapshots of any file and days, written to --output only.",
        "churn features --cutoffs 2024-06-30,2024-09-30 --output snapshots.parquet",
    ),
    "train": (
        "train the calibrated LightGBM model, save models/, log an MLflow run",
        "Fits BG/NBD prior + LightGBM + calibrator on the training snapshots (train.* params).",
        "churn train",
    ),
    "evaluate": (
        "out-of-time metrics and plots against the baselines; champion decision",
        "Writes reports/metrics.json, reports/plots/ and reports/figures/, logs them to MLflow.",
        "churn evaluate",
    ),
    "campaigns": (
        "what past campaigns achieved: each action against its control group, per segment",
        "Measures every campaign in the contacts table whose outcome window has closed: retention of\n"
        "treatment and control, incremental retention with a 95% interval, customers kept, margin, cost,\n"
        "ROI. Writes reports/campaigns.json and reports/campaign_effects.csv; churn score learns from them.",
        "churn campaigns",
    ),
    "uplift": (
        "whom each action really helps: uplift models learnt from past campaigns",
        "Fits a cross-fitted DR-learner on every closed campaign with a control group (uplift.* params),\n"
        "writes models/uplift.json for churn score (score.policy: uplift), and replays every targeting\n"
        "rule on the newest closed campaign: reports/uplift.json, Qini curves, an MLflow run.",
        "churn uplift",
    ),
    "campaign": (
        "turn an executed scores file into contact-log rows",
        "`churn campaign log SCORES --date D --output contacts.csv`: one row per customer contacted\n"
        "(treatment) or held back (control, with the action held back) in the campaign actions.campaign.\n"
        "Append the rows to your contacts table after the campaign ran, then rerun the pipeline.",
        "churn campaign log data/scores/churn_scores.csv --date 2025-01-06 --output new_contacts.csv",
    ),
    "score": (
        "risk, reasons, value and retention action per customer",
        "Without options: the DVC stage (every customer with history, newest day, local model).\n"
        "--transactions, --customers, --as-of and --model score something else; with --transactions\n"
        "or --customers, --output is required so the pipeline's scores are left as DVC wrote them.",
        "churn score --customers list.csv --model models:/churn-model@champion --output list_scores.csv",
    ),
    "report": (
        "retention KPIs, cohorts and action summary; reports/index.html",
        "Writes reports/kpis.json, reports/report/ and the offline page reports/index.html.",
        "churn report",
    ),
    "check": (
        "check params.yaml without running anything",
        "Reads and validates every key of params.yaml; exit 2 with the key and why when one is wrong.\n"
        "`make run` calls it before `dvc repro`, which reads params.yaml itself with fewer checks.",
        "churn check",
    ),
    "summary": (
        "print the headline metrics and where the outputs are",
        "Reads the outputs of the last `dvc repro`; changes nothing.",
        "churn summary",
    ),
}


def _subparser(sub, name: str) -> argparse.ArgumentParser:
    short, description, example = HELP[name]
    return sub.add_parser(
        name,
        help=short,
        description=f"{short[0].upper()}{short[1:]}.\n\n{description}",
        epilog=f"example:\n  {example}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="churn",
        description="Churn prediction pipeline: each DVC stage is one `churn <stage>` command.",
        epilog="example:\n  dvc repro          # every stage, in order\n  churn score --help",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--debug", action="store_true", help="show the full traceback on errors")
    parser.add_argument("--json", action="store_true", help="print the stage's full result as JSON")
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("generate", "ingest"):
        _subparser(sub, name)
    features = _subparser(sub, "features")
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
    for name in ("train", "evaluate", "campaigns", "uplift"):
        _subparser(sub, name)
    campaign = _subparser(sub, "campaign")
    campaign_sub = campaign.add_subparsers(dest="campaign_command", required=True)
    log = campaign_sub.add_parser("log", help="contact-log rows from an executed scores file")
    log.add_argument("scores", type=Path, help="the scores file the campaign executed (.csv or .parquet)")
    log.add_argument("--date", type=_date, required=True, help="the day the campaign ran, e.g. 2025-01-06")
    log.add_argument("--output", type=Path, required=True, help="where to write the rows (.csv or .parquet)")
    score = _subparser(sub, "score")
    score.add_argument(
        "--transactions", help="score this transactions file (mapped by params) instead of data/interim/"
    )
    score.add_argument("--customers", type=Path, help="CSV or Parquet list with a customer_id column: score just these")
    score.add_argument("--as-of", type=_date, help="last day of history to score with (default: newest in data)")
    score.add_argument("--model", help="MLflow model URI, e.g. models:/churn-model@champion (default: models/)")
    score.add_argument(
        "--output", type=Path, help="write scores here (.csv or .parquet); needed with --transactions or --customers"
    )
    for name in ("report", "summary", "check"):
        _subparser(sub, name)
    return parser


def _output(path: Path | None) -> Path | None:
    """--output as an absolute path; only .csv or .parquet, the formats written."""
    if path is None:
        return None
    if path.suffix not in {".csv", ".parquet"}:
        raise ChurnError(f"--output {path}: use a .csv or .parquet file name")
    return path.resolve()


def _use_system_allocator() -> None:
    """Arrow on the C library's allocator. Arrow's default (mimalloc) keeps freed buffers
    (516 MB of them when a million scores were written) and first touches fresh memory
    slowly: a ten-million-row ingest took 17.2 s with it, 14.4 s with this (median of
    three runs each) and 15.5 s with jemalloc, at the same peak memory."""
    import pyarrow as pa

    pa.set_memory_pool(pa.system_memory_pool())


def _run(args: argparse.Namespace) -> dict:
    # Imported here so `churn --help` stays fast and a stage loads only what it needs.
    from churn import layout
    from churn.config import load_params, project_root

    root = project_root()
    params = load_params(root / "params.yaml")
    if args.command == "check":
        print(f"{root / 'params.yaml'}: valid")
        return {}
    if args.command == "summary":
        from churn.summary import headline

        print(headline(root))
        return {}
    import importlib

    _use_system_allocator()  # here, not for check and summary: importing pyarrow takes 0.17 s
    stage = importlib.import_module(f"churn.stages.{args.command}")
    if args.command == "score":
        if (args.transactions or args.customers) and args.output is None:
            raise ChurnError(
                f"--transactions and --customers need --output, so the pipeline's {layout.SCORES_CSV} is left as "
                "DVC wrote it"
            )
        return stage.run(
            root,
            params,
            transactions=args.transactions,
            customers=args.customers.resolve() if args.customers else None,
            as_of=args.as_of,
            model_uri=args.model,
            output=_output(args.output),
        )
    if args.command == "campaign":
        return stage.run(root, params, scores=args.scores.resolve(), date=args.date, output=_output(args.output))
    if args.command == "features":
        return stage.run(
            root, params, transactions=args.transactions, cutoffs=args.cutoffs, output=_output(args.output)
        )
    return stage.run(root, params)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    started = time.perf_counter()
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
        storage = storage_error(exc) if isinstance(exc, OSError) else None
        if storage is not None:  # disk full, read-only, permission denied: the machine, not a bug
            print(f"churn {args.command}: error: {storage}", file=sys.stderr)
            return 2
        print(
            f"churn {args.command}: unexpected error: {type(exc).__name__}: {exc}\n"
            "Previous outputs are left as they were. Run with --debug for the traceback.",
            file=sys.stderr,
        )
        return 1
    for warning in result.get("warnings") or []:
        print(f"churn {args.command}: warning: {warning}", file=sys.stderr)
    if args.json:
        print(json.dumps(result, indent=2, default=str))
    elif result:
        from churn.status_line import status_line

        print(status_line(args.command, result, time.perf_counter() - started))
    return 0


if __name__ == "__main__":
    sys.exit(main())
