from pathlib import Path

from churn.features import attributes, behaviour, engagement, rfm, rhythm, season
from churn.features.segments import RFM_COLUMNS

FEATURE_DOCS = (Path(__file__).resolve().parents[2] / "docs/pipeline.md").read_text(encoding="utf-8")


def test_the_docs_describe_every_feature_and_rfm_score():
    features = (
        rfm.FEATURES
        | behaviour.FEATURES
        | rhythm.FEATURES
        | season.FEATURES
        | engagement.FEATURES
        | attributes.FEATURES
    )
    missing = [name for name in [*features, *RFM_COLUMNS] if f"`{name}`" not in FEATURE_DOCS]
    assert not missing, f"docs/pipeline.md does not describe: {', '.join(missing)}"


def test_every_feature_has_one_line_of_meaning():
    for module in (rfm, behaviour, rhythm, season, engagement, attributes):
        for name, meaning in module.FEATURES.items():
            assert meaning and "\n" not in meaning, f"{module.__name__}.FEATURES[{name!r}]"
