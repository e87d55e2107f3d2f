"""The planner's rules (sql/rules.py), each pinned by SQL fixtures as sqlglot's optimizer rules are
(tests/fixtures/optimizer/<rule>.sql): SQL in, and the SQL the rule leaves (rewrites), what it found or
planned (``# expect:``), or its refusal and where it points (``# refuses:`` / ``# at:``).

A fixture block, separated from the next by a blank line::

    # rule: spark_casts                     the rule the block pins
    # title: CAST to an integer truncates   what it shows (optional)
    # options: {"output_mode": "append"}    plan_query's options (optional)
    # expect: mode                          compare this attribute of what the rules found or planned
    # refuses: ORDER BY is not supported    or: the rule refuses, with this message,
    # at: ORDER BY                          pointing here in the SQL
    SELECT ...;                             the query
    SELECT ...;                             the SQL after the rule (rewrites; as DuckDB reads it), or the expected value
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pytest

import stream_nb as sn
from stream_nb.sql import StreamSQLError, plan_query
from stream_nb.sql.dialect import parse
from stream_nb.sql.rules import RULES, Planning, run

FIXTURES = Path(__file__).parent / "fixtures"
NAMES = {"events": sn.sources.memory("ts timestamp, device string, temp double, n bigint"),
         "impressions": sn.sources.memory("ts timestamp, ad string"),
         "clicks": sn.sources.memory("ts timestamp, ad string, user_id string"),
         "dim": pd.DataFrame({"device": ["a"], "site": ["lab"]})}


@dataclass
class Fixture:
    file: str
    line: int
    rule: str
    sql: str
    title: str = ""
    options: dict = field(default_factory=dict)
    expect: str | None = None        # an attribute path; None: the SQL after the rule
    expected: str | None = None
    refuses: str | None = None
    at: str | None = None

    @property
    def id(self) -> str:
        return f"{self.file}:{self.line}:{self.rule}"


def read_fixtures() -> list[Fixture]:
    fixtures = []
    for path in sorted(FIXTURES.glob("*.sql")):
        number = 0
        for block in path.read_text().split("\n\n"):
            start = number + 1
            number += block.count("\n") + 2
            lines = [line for line in block.strip().splitlines() if line.strip()]
            if not any(line.startswith("# rule:") for line in lines):
                continue
            notes = {line[2:].split(":", 1)[0].strip(): line[2:].split(":", 1)[1].strip()
                     for line in lines if line.startswith("# ") and ":" in line}
            statements = [s.strip() for s in "\n".join(line for line in lines if not line.startswith("#"))
                          .split(";") if s.strip()]
            fixtures.append(Fixture(path.name, start, notes["rule"], statements[0], notes.get("title", ""),
                                    json.loads(notes.get("options", "{}")), notes.get("expect"),
                                    statements[1] if len(statements) > 1 else None, notes.get("refuses"),
                                    notes.get("at")))
    return fixtures


FIXTURE_LIST = read_fixtures()


def planned(fixture: Fixture, until: str):
    """Run the rules over the fixture's SQL up to and including ``until``: the tree then, or a Plan."""
    tree, watermarks = parse(fixture.sql)
    options = {"output_mode": None, "watermark": None, "watermark_policy": "min", **fixture.options}
    planning = Planning(fixture.sql, [NAMES], options["output_mode"], options["watermark"],
                        options["watermark_policy"], watermarks)
    return run(tree, planning, until=until), planning


def attribute(found, path: str) -> str:
    """``path`` (dotted; a dict is entered by key, a list by index) read from ``found``, as text: a dict or
    list as its items (keys) joined by ", "."""
    value = found
    for name in path.split("."):
        if isinstance(value, dict):
            value = value[name]
        else:
            value = value[int(name)] if isinstance(value, list) else getattr(value, name)
    if isinstance(value, (dict, list, tuple)):
        return ", ".join(map(str, value))
    return str(value)


def test_every_rule_has_a_name_of_its_own_and_a_known_kind():
    names = [rule.name for rule in RULES]
    assert len(set(names)) == len(names)
    assert {rule.kind for rule in RULES} <= {"rewrite", "check", "plan"}
    assert RULES[-1].kind == "plan"  # the last rule always plans (an aggregation)


def test_every_rule_is_pinned_by_a_fixture():
    assert sorted({rule.name for rule in RULES} - {f.rule for f in FIXTURE_LIST}) == []
    assert sorted({f.rule for f in FIXTURE_LIST} - {rule.name for rule in RULES}) == []


@pytest.mark.parametrize("fixture", FIXTURE_LIST, ids=[f.id for f in FIXTURE_LIST])
def test_rule_fixture(fixture: Fixture):
    if fixture.refuses is not None:
        with pytest.raises(StreamSQLError) as caught:
            planned(fixture, fixture.rule)
        assert fixture.refuses in str(caught.value)
        if fixture.at is not None:
            assert caught.value.start is not None, str(caught.value)
            assert fixture.sql[caught.value.start:].startswith(fixture.at), str(caught.value)
        # the refusal is this rule's: the rules before it let the query through
        before = RULES[[rule.name for rule in RULES].index(fixture.rule) - 1].name
        planned(fixture, before)
        return
    found, planning = planned(fixture, fixture.rule)
    if fixture.expect is not None:
        assert attribute(planning if fixture.expect.startswith("planning.") else found,
                         fixture.expect.removeprefix("planning.")) == fixture.expected
        return
    assert found.sql(dialect="duckdb") == fixture.expected
    assert (fixture.rule in planning.changed) == (found.sql() != planned_before(fixture))


def planned_before(fixture: Fixture) -> str:
    """The query's SQL as the rule before ``fixture.rule`` left it."""
    index = [rule.name for rule in RULES].index(fixture.rule)
    if index == 0:
        return parse(fixture.sql)[0].sql()
    return planned(fixture, RULES[index - 1].name)[0].sql()


def test_plan_query_runs_the_rules_and_names_the_rewrites_that_changed_the_query():
    plan = plan_query("SELECT device, CAST(temp AS INT) FROM events", namespaces=[NAMES])
    assert plan.rules == ["name_select_items", "qualify", "spark_casts", "non_ansi"]
    assert "rewritten  by name_select_items, qualify, spark_casts, non_ansi" in plan.explain()
