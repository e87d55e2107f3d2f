"""The Sink protocol: a plain class with add_batch is a sink; bind, open, close and a result it declares."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pytest

import stream_nb as sn
from stream_nb.sinks._protocol import sink_traits


class Collect:
    """A sink as a user writes one: keeps every batch it is handed, once per batch id."""

    def __init__(self):
        self.batches: dict[int, list[dict]] = {}

    def add_batch(self, batch_id: int, table: pa.Table, keys: pa.Table | None = None) -> None:
        self.batches.setdefault(batch_id, table.to_pylist())


def test_a_plain_class_with_add_batch_is_a_sink():
    events, sink = sn.sources.memory("n bigint"), Collect()
    q = sn.start("SELECT n * 2 AS m FROM events", sources={"events": events}, sink=sink, trigger="manual")
    events.add_data([{"n": 1}, {"n": 2}])
    q.step()
    events.add_data([{"n": 5}])
    q.step()
    q.stop()
    assert sink.batches == {0: [{"m": 2}, {"m": 4}], 1: [{"m": 10}]}


def test_declared_bind_open_and_close_are_called_with_the_schema_the_query_id_and_at_stop():
    class Lifecycle(Collect):
        capabilities = frozenset({"bind", "open", "close"})
        calls: list

        def bind(self, schema, output_mode, key_columns=None):
            self.calls = [("bind", schema.names, output_mode, key_columns)]

        def open(self, query_id):
            self.calls.append(("open", query_id))

        def close(self):
            self.calls.append(("close",))

    events, sink = sn.sources.memory("k string, n bigint"), Lifecycle()
    q = sn.start("SELECT k, count(*) AS c FROM events GROUP BY k", sources={"events": events}, sink=sink,
                 output_mode="update", trigger="manual")
    assert sink.calls == [("bind", ["k", "c"], "update", ["k"]), ("open", q.id)]
    q.stop()
    q.stop()  # a second stop does nothing more
    assert sink.calls[2:] == [("close",)]  # closed once, although the loop's task and stop() both end it


def test_without_a_declared_result_q_result_says_where_the_query_writes():
    events = sn.sources.memory("n bigint")
    q = sn.start("SELECT n FROM events", sources={"events": events}, sink=Collect(), trigger="manual")
    with pytest.raises(AttributeError, match="q.result comes from a sink that keeps the result .* writes to Collect"):
        q.result  # noqa: B018 - the property is what is tested
    q.stop()


def test_a_sink_that_declares_result_serves_q_result():
    class Latest(Collect):
        capabilities = frozenset({"result"})

        @property
        def result(self) -> pd.DataFrame:
            return pd.DataFrame(self.batches[max(self.batches)])

    events = sn.sources.memory("n bigint")
    q = sn.start("SELECT n FROM events", sources={"events": events}, sink=Latest(), trigger="manual")
    events.add_data([{"n": 7}])
    q.step()
    assert q.result.to_dict("records") == [{"n": 7}]
    q.stop()


def test_a_sink_lacking_add_batch_is_refused_at_start_naming_it():
    class Write:
        def write(self, table):
            pass

    with pytest.raises(TypeError, match=r"sink Write lacks add_batch\(batch_id, table, keys=None\)"):
        sn.start("SELECT n FROM events", sources={"events": sn.sources.memory("n bigint")}, sink=Write())


def test_a_declared_capability_without_its_method_is_refused_at_start_naming_it():
    class NoOpen(Collect):
        capabilities = frozenset({"open"})

    with pytest.raises(TypeError, match="sink NoOpen declares the capability 'open' but lacks open"):
        sn.start("SELECT n FROM events", sources={"events": sn.sources.memory("n bigint")}, sink=NoOpen())


def test_the_memory_sink_declares_it_keeps_a_result_and_its_changes_and_other_sinks_do_not(tmp_path):
    memory = sink_traits(sn.sinks.memory())
    assert (memory.result, memory.changes, memory.row_limit, memory.rebuilt_from_state) == (True, True, True, True)
    for other in (sn.sinks.duckdb(tmp_path / "db.duckdb", "t"), sn.sinks.files(tmp_path / "out"),
                  sn.sinks.foreach_batch(print)):
        assert not sink_traits(other).result and not sink_traits(other).changes
    assert sink_traits(sn.sinks.duckdb(tmp_path / "db.duckdb", "t")).close


def test_the_live_view_shows_the_result_of_a_sink_of_ones_own_that_declares_it():
    from stream_nb.notebook.live import open_view

    class Latest(Collect):
        capabilities = frozenset({"result"})

        @property
        def result(self) -> pd.DataFrame:
            return pd.DataFrame([row for rows in self.batches.values() for row in rows], columns=["n"])

    events = sn.sources.memory("n bigint")
    q = sn.start("SELECT n FROM events", sources={"events": events}, sink=Latest(), trigger="manual")
    view = open_view(q, table=True)
    events.add_data([{"n": 41}, {"n": 42}])
    q.step()
    view.refresh()
    assert view.updates[-1][1:] == (0, 2)
    assert ">41<" in view.table.widget.value and ">42<" in view.table.widget.value
    q.stop()


def test_the_live_view_of_a_sink_without_a_result_says_where_the_rows_go():
    from stream_nb.notebook.live import open_view

    events = sn.sources.memory("n bigint")
    q = sn.start("SELECT n FROM events", sources={"events": events}, sink=Collect(), trigger="manual")
    view = open_view(q, table=True)
    events.add_data([{"n": 1}])
    q.step()
    view.refresh()
    assert view.table is None
    assert "no chart or table: this query writes to Collect" in view.status.value
    q.stop()
