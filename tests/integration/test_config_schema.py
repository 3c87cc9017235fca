"""configs/schema.json: valid draft 2020-12, accepts every shipped configuration and
every accepted case of tests/data/configs/parse.test, and rejects the refused cases
a schema can express (the others are YAML-level or cross-field rules only sparkd
checks; they are listed in SCHEMA_CANNOT)."""
import json
import re
from pathlib import Path

import jsonschema
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((ROOT / "configs" / "schema.json").read_text())
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)
CASES = re.findall(r"^%%FILE ([^\n]*)\n(.*?)^%%(OK|ERROR)",
                   (ROOT / "tests" / "data" / "configs" / "parse.test").read_text(), re.M | re.S)
assert CASES and any(r == "OK" for _, _, r in CASES) and any(r == "ERROR" for _, _, r in CASES), \
    "tests/data/configs/parse.test has no cases: the parametrized tests would not run"

# Refused by sparkd, but not expressible in a schema (or PyYAML, a YAML 1.1
# reader, sees something else than sparkd's YAML 1.2 core schema).
SCHEMA_CANNOT = {
    "syntax.yaml", "syntax-indent.yaml", "alias.yaml", "alias-key.yaml", "duplicate.yaml",
    "duplicate-nested.yaml", "multi-doc.yaml", "nan.yaml", "inf.yaml", "float-overflow.yaml",
    "int-overflow.yaml", "nul.yaml", "tag.yaml", "tag-map.yaml", "complex-key.yaml",
    "bad stem.yaml", "default-type.yaml", "spec-bounds-int.yaml", "spec-bounds-memory.yaml",
    "spec-default-above.yaml", "spec-default-below.yaml", "spec-default-choice.yaml",
    "spec-default-long.yaml", "conf-out-of-bounds.yaml", "idle-long.yaml", "idle-above-max.yaml",
    "idle-off-with-max.yaml", "idle-min-above-max.yaml", "idle-bad-default.yaml",
    "slurm-time-long.yaml", "slurm-override-not-slurm.yaml", "slurm-override-unknown.yaml",
    "slurm-launch-out-of-bounds.yaml",
}


def test_schema_is_valid():
    jsonschema.Draft202012Validator.check_schema(SCHEMA)


@pytest.mark.parametrize("path", sorted((ROOT / "configs").glob("*.yaml")), ids=lambda p: p.stem)
def test_shipped_configs_match(path):
    VALIDATOR.validate(yaml.safe_load(path.read_text()))


@pytest.mark.parametrize("name,text", [(n, t) for n, t, r in CASES if r == "OK"])
def test_accepted_cases_match(name, text):
    VALIDATOR.validate(yaml.safe_load(text))


@pytest.mark.parametrize("name,text",
                         [(n, t) for n, t, r in CASES if r == "ERROR" and n not in SCHEMA_CANNOT])
def test_refused_cases_fail(name, text):
    assert not VALIDATOR.is_valid(yaml.safe_load(text))


NEGATIVE = [
    {"master": 5},
    {"conf": {"spark.x": None}},
    {"conf": {"spark x": "1"}},
    {"overridable": {"spark.x": {"type": "memory", "max": "8 GB"}}},
    {"overridable": {"spark.x": {"type": "choice"}}},
    {"overridable": {"spark.x": {"type": "int", "choices": [1]}}},
    {"overridable": {"spark.x": {"type": "string", "max_length": 70000}}},
    {"error_hints": [{"pattern": "x"}]},
    {"idle_stop": "30"},
    {"idle_stop": 30},
    {"idle_stop": "30m1h"},
    {"overridable": {"spark.x": {"type": "duration"}}},
    {"overridable": {"idle_stop": {"type": "int"}}},
    {"overridable": {"idle_stop": {"type": "duration", "max": "off"}}},
    {"name": "."},
    {"surprise": True},
]


@pytest.mark.parametrize("doc", NEGATIVE, ids=lambda d: json.dumps(d))
def test_negative_examples_fail(doc):
    assert not VALIDATOR.is_valid(doc)
