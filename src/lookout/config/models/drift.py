"""monitors.yml: the drift stage: its reference, effect sizes and their floors, the
small-sample tests and the HTML reports."""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from pydantic import Field, field_validator, model_validator

from lookout.config.models.base import Model, PositiveDuration
from lookout.config.models.references import DriftReference
from lookout.model.record import check_identifier

__all__ = [
    "EFFECT_FLOOR_MAX",
    "JENSEN_SHANNON_MAX",
    "CategoricalEffect",
    "DriftConfig",
    "DriftFeatures",
    "DriftReports",
    "DriftThresholds",
    "EffectFloors",
    "NumericEffect",
]


# The effect sizes a drift verdict can be judged on (a p-value is never one: with enough rows
# every difference is "significant"); and the largest floor each can reach: the normed
# Wasserstein distance and PSI are unbounded (10 = ten standard deviations, or a PSI no real
# shift stays below), the Jensen-Shannon distance (natural log) is at most sqrt(ln 2).
NumericEffect = Literal["auto", "wasserstein", "psi", "jensenshannon"]
CategoricalEffect = Literal["auto", "jensenshannon", "psi"]
JENSEN_SHANNON_MAX = 0.8325546111576977  # sqrt(ln 2)
EFFECT_FLOOR_MAX = {"wasserstein": 10.0, "psi": 10.0, "jensenshannon": JENSEN_SHANNON_MAX}


class EffectFloors(Model):
    """How far a distribution must move before it counts as drift, per effect size.

    Defaults: Evidently 0.7's own large-sample thresholds for the normed Wasserstein distance
    (0.1: a tenth of the reference's standard deviation) and the Jensen-Shannon distance (0.1);
    PSI at 0.2, the middle of the customary 0.1-0.25 "moderate shift" band (Evidently's 0.1 is
    the edge of "no change")."""

    wasserstein: float = Field(
        default=0.1,
        gt=0,
        le=EFFECT_FLOOR_MAX["wasserstein"],
        description="numeric columns: Wasserstein distance in reference standard deviations",
    )
    jensenshannon: float = Field(
        default=0.1,
        gt=0,
        le=JENSEN_SHANNON_MAX,
        description="categorical columns: Jensen-Shannon distance (base 2, 0..1)",
    )
    psi: float = Field(
        default=0.2,
        gt=0,
        le=EFFECT_FLOOR_MAX["psi"],
        description="population stability index, where a column uses it",
    )


class DriftThresholds(Model):
    """p-value levels of the small-sample tests (a column drifts there only when its test
    rejects too). A distance named here is an older spelling of its `effect_floors` entry."""

    ks: float | None = Field(default=None, gt=0, lt=1, description="default 0.05")
    chisquare: float | None = Field(default=None, gt=0, lt=1, description="default 0.05")
    z: float | None = Field(default=None, gt=0, lt=1, description="default 0.05")
    wasserstein: float | None = Field(
        default=None,
        gt=0,
        le=EFFECT_FLOOR_MAX["wasserstein"],
        description="older spelling of effect_floors.wasserstein",
    )
    jensenshannon: float | None = Field(
        default=None,
        gt=0,
        le=JENSEN_SHANNON_MAX,
        description="older spelling of effect_floors.jensenshannon",
    )
    psi: float | None = Field(
        default=None,
        gt=0,
        le=EFFECT_FLOOR_MAX["psi"],
        description="older spelling of effect_floors.psi",
    )


class DriftReports(Model):
    """The Evidently HTML report of a drifted day, per release and cohort."""

    enabled: bool = Field(default=True, description="write reports (the metrics do not need them)")
    sample_rows: int = Field(
        default=20_000, ge=100, description="rows per side given to Evidently for the HTML"
    )
    retention: PositiveDuration = Field(
        default=timedelta(days=30), description="day folders older than this are deleted"
    )


class DriftFeatures(Model):
    """Table columns compared besides the mapped fields: a classic model's score and its
    input features, which the record contract has no field for."""

    numeric: list[str] = Field(
        default=[], description="columns of numbers (a score, an amount, an age in days)"
    )
    categorical: list[str] = Field(
        default=[], description="columns of labels compared by their shares (a decision)"
    )

    @field_validator("numeric", "categorical")
    @classmethod
    def _identifiers(cls, names: list[str]) -> list[str]:
        """Column names reach SQL: plain identifiers only, each once."""
        for name in names:
            check_identifier(name)
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"listed twice: {', '.join(twice)}")
        return names

    @model_validator(mode="after")
    def _one_kind(self) -> DriftFeatures:
        """A column is compared one way: as numbers or as labels."""
        both = sorted(set(self.numeric) & set(self.categorical))
        if both:
            raise ValueError(f"{', '.join(both)}: both numeric and categorical; keep one")
        return self


class DriftConfig(Model):
    """Drift of each release x cohort, pooled over a rolling period, against a reference."""

    enabled: bool = Field(default=False, description="run the drift stage")
    reference: DriftReference = DriftReference()
    period: PositiveDuration = Field(
        default=timedelta(hours=24),
        description="the rolling period a verdict pools (this window and the ones before it; "
        "rounded up to whole windows)",
    )
    features: DriftFeatures = Field(
        default=DriftFeatures(),
        description="table columns to compare besides the mapped fields (a model's score "
        "and inputs)",
    )
    columns: list[str] = Field(
        default=[],
        description="default: every column drift knows (mapped fields, cohorts, features)",
    )
    exclude: list[str] = Field(default=[], description="columns left out")
    min_n: int | None = Field(
        default=None,
        ge=10,
        description="rows per side below: not enough data; default: 10 for a numeric column "
        "of many values while its KS test gates it (exact on small sides), 30 for the rest",
    )
    numeric_method: NumericEffect = Field(
        default="auto",
        description="effect size of numeric columns; auto: Wasserstein distance normalised by "
        "the reference's standard deviation",
    )
    categorical_method: CategoricalEffect = Field(
        default="auto", description="effect size of categorical columns; auto: Jensen-Shannon"
    )
    effect_floors: EffectFloors = EffectFloors()
    thresholds: DriftThresholds = Field(
        default=DriftThresholds(), description="p-value levels of the small-sample tests"
    )
    small_sample: int = Field(
        default=1000,
        ge=0,
        description="when either side has at most this many rows, a column drifts only if its "
        "p-value test (KS, chi-square, z) rejects too; 0: never",
    )
    correction: Literal["holm", "bonferroni", "none"] = Field(
        default="holm",
        description="for the p-value tests of one release x cohort (one per column); "
        "any but none also divides the level by the release's cohort groups judged together",
    )
    dataset_drift_share: float = Field(
        default=0.5,
        gt=0,
        le=1,
        description="share of drifted features at which a release x cohort drifted as a whole "
        "(Evidently's dataset drift; reports and the index use it)",
    )
    cohorts: bool = Field(default=True, description="also per cohort value, not only overall")
    max_rows: int | None = Field(
        default=200_000,
        ge=1000,
        description="PostgreSQL: a side with more rows is read through a page sample of about "
        "this many rows (TABLESAMPLE SYSTEM); null: always every row",
    )
    reports: DriftReports = DriftReports()

    @model_validator(mode="after")
    def _floors_once(self) -> DriftConfig:
        """A distance given under `thresholds` (the older key) is its effect floor; given in
        both places, which one counts would be a guess."""
        given = self.effect_floors.model_fields_set
        for name in ("wasserstein", "jensenshannon", "psi"):
            if getattr(self.thresholds, name) is not None and name in given:
                raise ValueError(
                    f"thresholds.{name} and effect_floors.{name} both set: "
                    f"keep effect_floors.{name}"
                )
        return self

    def floor(self, method: str) -> float:
        """The effect floor of a distance method."""
        older = getattr(self.thresholds, method)
        return float(older) if older is not None else float(getattr(self.effect_floors, method))

    def level(self, method: str) -> float:
        """The p-value level of a small-sample test."""
        value = getattr(self.thresholds, method)
        return 0.05 if value is None else float(value)
