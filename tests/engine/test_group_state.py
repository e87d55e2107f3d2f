"""The applyInPandasWithState operator against the operator protocol: ``process`` changes nothing, ``commit``
does; the checkpoint's Arrow (snapshot and delta) rebuilds the same state; timeouts make a batch without
data due."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa

import stream_nb as sn
from stream_nb.engine.group_state import GroupStateOperator
from stream_nb.engine.operator import Operator
from stream_nb.engine.operators import connect
from stream_nb.sql.group_state import GroupStatePlan, attach
from stream_nb.sql.plan import plan_query
from stream_nb.types import parse_schema, to_arrow

SCHEMA = parse_schema("ts timestamp, user string, n bigint")


def session(key, frames, state):
    if state.hasTimedOut:
        state.remove()
        yield pd.DataFrame({"user": [key[0]], "total": [-1]})
        return
    total = (state.get[0] if state.exists else 0) + sum(int(f["n"].sum()) for f in frames)
    state.update((total, f"seen {key[0]}"))
    state.setTimeoutTimestamp(state.getCurrentWatermarkMs() + 1_000)
    yield pd.DataFrame({"user": [key[0]], "total": [total]})


def operator():
    source = sn.sources.memory(SCHEMA)
    plan = plan_query("SELECT * FROM s WATERMARK ts DELAY OF INTERVAL 1 SECOND", namespaces=[{"s": source}])
    spec = GroupStatePlan(session, ["user"], parse_schema("user string, total bigint"),
                          parse_schema("total bigint, note string"), "update", "EventTimeTimeout")
    plan = attach(plan, spec, "update")
    return GroupStateOperator(plan), connect(plan)


def batch(*items):
    return to_arrow([{"ts": pd.Timestamp(s, unit="s", tz="UTC"), "user": u, "n": n} for s, u, n in items], SCHEMA)


def test_it_implements_the_operator_protocol():
    op, _ = operator()
    assert isinstance(op, Operator) and op.stateful and op.name == "applyInPandasWithState"


def test_process_changes_nothing_until_commit():
    op, con = operator()
    first = op.process(con, batch((10, "a", 1), (11, "b", 2)), 0)
    again = op.process(con, batch((10, "a", 1), (11, "b", 2)), 0)
    assert op.state_rows == 0 and first.table.equals(again.table)
    op.commit(first)
    assert op.state_rows == 2
    assert op.process(con, batch((12, "a", 5)), 0).table.to_pylist() == [{"user": "a", "total": 6}]


def test_a_snapshot_and_a_delta_rebuild_the_same_state():
    op, con = operator()
    out = op.process(con, batch((10, "a", 1), (11, "b", 2)), 0)
    op.commit(out)
    snapshot = op.dump()
    out = op.process(con, SCHEMA.empty_table(), 20_000_000)  # the watermark passed both timeouts
    assert sorted(out.table.to_pylist(), key=str) == [{"user": "a", "total": -1}, {"user": "b", "total": -1}]
    op.commit(out)
    delta = op.changes(out)
    assert delta.column("removed").to_pylist() == [True, True]
    rebuilt, _ = operator()
    rebuilt.restore([snapshot])
    assert sorted(rebuilt.state) == [("a",), ("b",)]
    assert rebuilt.state[("a",)].value == (1, "seen a") and rebuilt.state[("a",)].timeout_ms == 1_000
    rebuilt.restore([delta])
    assert rebuilt.state == op.state == {}
    assert snapshot.schema.field("state").type == pa.struct([("total", pa.int64()), ("note", pa.string())])


def test_a_batch_without_data_is_due_once_the_watermark_passes_a_timeout():
    op, con = operator()
    op.commit(op.process(con, batch((10, "a", 1)), 0))
    assert not op.has_expired(1_000_000)      # timeout 1 000 ms: not below a watermark of 1 000 ms
    assert op.has_expired(1_001_000)
