"""Typed settings, loaded once from params.yaml.

Unknown keys, wrong types and impossible values are refused with a message that names
the key, so a typo in params.yaml never silently falls back to a default.
"""

from __future__ import annotations

import codecs
import datetime as dt
import os
import zoneinfo
from pathlib import Path
from typing import Any, Literal, get_args

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_core import PydanticCustomError

from churn.errors import ChurnError

PARAMS_FILE = "params.yaml"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    @field_validator("*", mode="before")
    @classmethod
    def _no_bools_for_numbers(cls, value, info):
        """YAML's true/false would pass as 1/0 where a number is expected: refuse them."""
        annotation = cls.model_fields[info.field_name].annotation
        numeric = {int, float} & ({annotation} | set(get_args(annotation)))
        if isinstance(value, bool) and numeric and bool not in get_args(annotation) and annotation is not bool:
            raise ValueError(f"expected a number, got {str(value).lower()}")
        return value


def _refused(text: str) -> PydanticCustomError:
    """A settings error whose text is shown as is (no "Value error, " prefix)."""
    return PydanticCustomError("invalid_setting", "{text}", {"text": text})


class ColumnMap(_Strict):
    """Pipeline field -> column name in the user's file (optional fields may be null)."""

    customer_id: str = "customer_id"
    timestamp: str = "timestamp"
    amount: str = "amount"
    order_id: str | None = None
    category: str | None = None
    channel: str | None = None
    status: str | None = None

    @model_validator(mode="after")
    def _distinct_columns(self) -> ColumnMap:
        """Two pipeline fields read from one column would silently mean the same thing."""
        fields_of: dict[str, list[str]] = {}
        for name, column in self.model_dump().items():
            if column is not None:
                fields_of.setdefault(column, []).append(name)
        for column, names in fields_of.items():
            if len(names) > 1:
                keys = " and ".join(f"data.columns.{n}" for n in names)
                raise _refused(f"{keys} both name the column {column!r}; map each field to its own column")
        return self


# Directives a timestamp_format needs: a year, and a month or a day (else pandas fills in 1900 or January).
_YEAR_DIRECTIVES = ("%Y", "%y", "%c", "%x")
_DAY_DIRECTIVES = ("%m", "%b", "%B", "%d", "%j", "%c", "%x")


def _directives(fmt: str) -> set[str]:
    found, i = set(), 0
    while i < len(fmt) - 1:
        if fmt[i] == "%":
            found.add(fmt[i : i + 2])
            i += 2
        else:
            i += 1
    return found


class DataSettings(_Strict):
    source: Literal["synthetic", "file"] = "synthetic"
    transactions: str
    events: str | None = None
    customers: str | None = None
    contacts: str | None = None
    columns: ColumnMap = ColumnMap()
    timestamp_format: str | None = None
    timezone: str = "UTC"
    exclude_status: list[str] = []  # matched ignoring case and surrounding spaces
    on_bad_rows: Literal["fail", "quarantine"] = "fail"
    # Exact duplicate transaction rows: auto drops them only when they carry an order id
    # (otherwise they may be real repeat purchases and are kept, counted as possible_repeats).
    drop_duplicates: Literal["auto", "always", "never"] = "auto"
    # Timestamps outside [min_date, max_date] (whole days, UTC) are rejected per row;
    # max_date null: the day after the day ingest runs (UTC).
    min_date: dt.date = dt.date(1970, 1, 1)
    max_date: dt.date | None = None
    delimiter: str = Field(",", min_length=1, max_length=1)
    encoding: str = "utf-8"
    max_abs_amount: float = Field(1e9, gt=0)

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise _refused(f"unknown time zone {value!r}; use an IANA name such as Europe/London or UTC") from None
        return value

    @field_validator("timestamp_format")
    @classmethod
    def _valid_format(cls, value: str | None) -> str | None:
        if value is None:
            return value
        sample = dt.datetime(2024, 3, 5, 13, 4, 5, tzinfo=dt.UTC)
        try:
            dt.datetime.strptime(sample.strftime(value), value)
        except ValueError as exc:
            raise _refused(f"{value!r} is not a valid strftime pattern ({exc})") from None
        found = _directives(value)
        if not found & set(_YEAR_DIRECTIVES) or not found & set(_DAY_DIRECTIVES):
            raise _refused(
                f"{value!r} needs a year (%Y or %y) and a month or day (%m, %b, %d or %j), "
                'e.g. "%d/%m/%Y %H:%M"; null reads ISO 8601 dates and datetimes'
            )
        return value

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, value: str) -> str:
        try:
            info = codecs.lookup(value)
        except LookupError:
            info = None
        if info is None or not getattr(info, "_is_text_encoding", True):
            raise _refused(f"unknown text encoding {value!r}; e.g. utf-8, latin-1 or cp1252")
        return value

    @field_validator("delimiter")
    @classmethod
    def _usable_delimiter(cls, value: str) -> str:
        if value in ("\n", "\r", '"'):
            raise _refused(f'{value!r} cannot separate fields (it ends lines or quotes text); e.g. ",", ";" or a tab')
        return value

    @model_validator(mode="after")
    def _consistent(self) -> DataSettings:
        if self.exclude_status and not self.columns.status:
            raise _refused(
                f"data.exclude_status is set ({', '.join(self.exclude_status)}) but data.columns.status maps no "
                "column: set data.columns.status to your status column, or data.exclude_status: []"
            )
        if self.max_date is not None and self.max_date < self.min_date:
            raise _refused(f"data.max_date ({self.max_date}) is before data.min_date ({self.min_date})")
        return self


class GenerateSettings(_Strict):
    seed: int = 42
    n_customers: int = Field(20000, gt=0)
    start_date: dt.date = dt.date(2023, 1, 1)
    days: int = Field(730, gt=0)


class ChurnSettings(_Strict):
    horizon_days: int = Field(90, gt=0)
    active_days: int = Field(365, gt=0)


class FeatureSettings(_Strict):
    n_train_cutoffs: int = Field(12, ge=2)
    cutoff_spacing_days: int = Field(30, gt=0)
    # A snapshot's windowed features look back up to 180 days; with less data before it
    # they describe a younger business than the one scored, so such cutoffs are skipped.
    min_history_days: int = Field(180, ge=0)


class TrainSettings(_Strict):
    seed: int = 42
    num_leaves: int = Field(31, ge=2)
    learning_rate: float = Field(0.05, gt=0, le=1)
    n_estimators: int = Field(400, gt=0)
    min_child_samples: int = Field(50, gt=0)
    early_stopping_rounds: int = Field(30, gt=0)
    class_weight: Literal["balanced", "none"] = "none"
    calibration: Literal["auto", "isotonic", "platt", "none"] = "auto"
    prior: Literal["bgnbd", "none"] = "bgnbd"


class RiskTiers(_Strict):
    high: float = Field(0.6, gt=0, lt=1)
    medium: float = Field(0.3, gt=0, lt=1)

    @model_validator(mode="after")
    def _ordered(self) -> RiskTiers:
        if self.medium >= self.high:
            raise ValueError("score.risk_tiers.medium must be below score.risk_tiers.high")
        return self


class ScoreSettings(_Strict):
    risk_tiers: RiskTiers = RiskTiers()
    # When evaluate found no skill: rank by BG/NBD (baseline) or plan no action (no_plan).
    without_skill: Literal["baseline", "no_plan"] = "baseline"
    # uplift: plan with the uplift model (models/uplift.json) where it exists; risk: churn
    # probability x value x success rate (measured by `churn campaigns`, else the guesses).
    policy: Literal["uplift", "risk"] = "uplift"


Op = Literal["==", "!=", "<", "<=", ">", ">=", "in"]


# A condition's value is a scalar or a short list: a YAML alias bomb would otherwise expand
# into millions of items that every `dvc status` reads.
MAX_CONDITION_ITEMS = 1000


class Condition(_Strict):
    field: str
    op: Op
    value: Any

    @field_validator("value")
    @classmethod
    def _small(cls, value: Any) -> Any:
        if isinstance(value, dict):
            raise ValueError("expected a value or a list of values, not a mapping")
        if isinstance(value, list):
            if len(value) > MAX_CONDITION_ITEMS:
                raise ValueError(f"{len(value):,} items; at most {MAX_CONDITION_ITEMS:,}")
            if any(isinstance(v, list | dict) for v in value):
                raise ValueError("a list of plain values (text, numbers, true/false), not nested lists")
        return value


class Action(_Strict):
    name: str
    description: str
    channel: str  # "none" for the fallback; any other channel is a contact
    cost: float = Field(ge=0)
    success_rate: float = Field(ge=0, le=1)
    capacity: int | None = Field(None, ge=0)  # customers per run; null = unlimited
    when: list[Condition] = []


class ActionSettings(_Strict):
    campaign: str = Field(min_length=1)
    budget: float = Field(ge=0)
    control_share: float = Field(0.1, ge=0, lt=1)
    min_days_between_contacts: int = Field(14, ge=0)
    playbook: list[Action] = Field(min_length=1)

    @model_validator(mode="after")
    def _fallback_last(self) -> ActionSettings:
        names = [a.name for a in self.playbook]
        if len(set(names)) != len(names):
            raise ValueError("actions.playbook has duplicate action names")
        last = self.playbook[-1]
        if last.when or last.cost != 0 or last.channel != "none":
            raise ValueError(
                "actions.playbook: the last action must be the fallback (no conditions, cost 0, "
                "channel none), so every customer gets a recommendation"
            )
        return self


class ValueSettings(_Strict):
    clv_horizon_days: int = Field(365, gt=0)
    margin: float = Field(0.3, gt=0, le=1)
    currency: str | None = Field(None, max_length=12)  # e.g. EUR: said after amounts in reasons and the report


class MlflowSettings(_Strict):
    experiment: str = "churn"
    registered_model: str = "churn-model"


class ReportSettings(_Strict):
    period: Literal["month", "quarter"] = "month"


SparkConfValue = str | int | float | bool


class SparkSettings(_Strict):
    """The Spark session for `engine: spark` (ingest, features and scoring)."""

    master: str = Field("local[2]", min_length=1)  # local[N], spark://host:7077, yarn, k8s://...
    app_name: str = Field("churn-pipeline", min_length=1)
    config: dict[str, SparkConfValue] = {}  # any Spark conf key; wins over the pipeline's defaults

    @model_validator(mode="after")
    def _conf_keys(self) -> SparkSettings:
        bad = [k for k in self.config if not k.startswith("spark.")]
        if bad:
            raise ValueError(f"spark.config: keys must be Spark settings starting with 'spark.', got {', '.join(bad)}")
        return self


class CampaignSettings(_Strict):
    # Measured effects replace the playbook's guessed success rates, shrunk towards them: the
    # guess counts as this many would-be churners of evidence (campaigns/rates.py).
    prior_weight: float = Field(200.0, ge=0)
    # The segment field whose measured effects the plan uses per customer (and where an
    # action measured as harmful is never offered); effects are reported for every field.
    plan_segment: Literal["risk_tier", "rfm_segment", "top_driver", "loyalty_member"] = "rfm_segment"
    learn: bool = True  # false: plan with the playbook's guesses even when campaigns were measured
    # Cells with fewer control customers are reported as "too few to tell" and never steer the plan.
    min_control: int = Field(100, ge=0)
    # Top-driver segments need the model's contributions per contact (TreeSHAP, thousands of
    # rows a second); above this many measured contacts they are left out, and the summary says so.
    driver_rows: int = Field(200_000, ge=0)


class UpliftSettings(_Strict):
    """The uplift learner (uplift/learner.py): a cross-fitted DR-learner on LightGBM."""

    seed: int = 42
    folds: int = Field(3, ge=2, le=20)  # cross-fitting folds, drawn per customer
    num_leaves: int = Field(4, ge=2)  # the effect model's trees; the outcome model gets 2x + 1
    min_child_samples: int = Field(800, ge=2)  # effects are noisy: leaves need many customers
    n_estimators: int = Field(100, ge=1)
    learning_rate: float = Field(0.03, gt=0, le=1)
    # The replay also runs on the closed campaigns before the newest, up to this many in all,
    # each learnt from the ones before it, and adds them up (one campaign is too noisy to judge by).
    backtest_campaigns: int = Field(3, ge=1)


Engine = Literal["duckdb", "spark"]


class Params(_Strict):
    engine: Engine = "duckdb"  # what runs ingest and features: embedded DuckDB or Apache Spark
    spark: SparkSettings = SparkSettings()
    data: DataSettings
    generate: GenerateSettings = GenerateSettings()
    churn: ChurnSettings = ChurnSettings()
    features: FeatureSettings = FeatureSettings()
    train: TrainSettings = TrainSettings()
    score: ScoreSettings = ScoreSettings()
    actions: ActionSettings
    campaigns: CampaignSettings = CampaignSettings()
    uplift: UpliftSettings = UpliftSettings()
    value: ValueSettings = ValueSettings()
    mlflow: MlflowSettings = MlflowSettings()
    report: ReportSettings = ReportSettings()


def project_root(start: Path | None = None) -> Path:
    """The directory holding params.yaml: the nearest one from the working directory up, else
    $DVC_ROOT. DVC runs each stage in the project's directory; under `dvc exp run --temp`
    that is a temporary copy while DVC_ROOT names the parent repository, whose params and
    outputs the experiment must not touch (tracking.py uses DVC_ROOT for the MLflow store)."""
    here = (start or Path.cwd()).resolve()
    for candidate in (here, *here.parents):
        if (candidate / PARAMS_FILE).is_file():
            return candidate
    env = os.environ.get("DVC_ROOT")
    if env and (Path(env) / PARAMS_FILE).is_file():
        return Path(env).resolve()
    raise ChurnError(f"no {PARAMS_FILE} found in {here} or any parent directory")


def parse_params(raw: Any, source: str = PARAMS_FILE) -> Params:
    """Validate a params mapping; errors name each offending key."""
    if not isinstance(raw, dict):
        raise ChurnError(f"{source}: expected a mapping of settings at the top level")
    try:
        return Params.model_validate(raw)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            key = ".".join(str(p) for p in err["loc"]) or "(top level)"
            lines.append(f"  {key}: {err['msg']}")
        raise ChurnError(f"{source}: invalid settings\n" + "\n".join(lines)) from None


class _UniqueKeyLoader(yaml.SafeLoader):
    """Safe YAML that refuses a key given twice in one mapping (YAML would keep the last
    silently) and any alias (`*name`): DVC walks every alias's expansion each time it reads
    params.yaml, so a few lines of nested aliases make `dvc status` run for hours."""

    def compose_node(self, parent, index):
        if self.check_event(yaml.events.AliasEvent):
            event = self.peek_event()
            raise yaml.composer.ComposerError(
                None,
                None,
                f"alias *{event.anchor} refused: write the value out (DVC expands every alias when it "
                "reads params.yaml)",
                event.start_mark,
            )
        return super().compose_node(parent, index)

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def load_params(path: Path | None = None) -> Params:
    """Read and validate params.yaml (safe YAML: no tags, no code)."""
    path = path or project_root() / PARAMS_FILE
    try:
        with path.open(encoding="utf-8") as stream:  # a stream, so YAML's messages name the file
            raw = yaml.load(stream, Loader=_UniqueKeyLoader)
    except FileNotFoundError:
        raise ChurnError(f"{path}: file not found") from None
    except yaml.YAMLError as exc:
        raise ChurnError(f"{path}: not valid YAML: {exc}") from None
    return parse_params(raw, str(path))
