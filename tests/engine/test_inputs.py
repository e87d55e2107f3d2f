"""When a query asks its sources for their latest offsets: once per trigger, and under available_now once at its
start (as Spark's AvailableNow, which reads up to what was there then and asks no more)."""

import pyarrow as pa

import stream_nb as sn


class Growing:
    """A source whose latest offset grows by 4 rows each time it is asked (rows keep arriving), 2 rows a batch."""

    schema = pa.schema([("v", pa.int64())])
    capabilities = frozenset({"max_per_trigger"})
    max_per_trigger = 2
    description = "Growing"

    def __init__(self):
        self.asked = 0

    def latest_offset(self):
        self.asked += 1
        return 4 * self.asked

    def read(self, start, end):
        return pa.table({"v": list(range(start, end))}, schema=self.schema)


def test_available_now_asks_the_source_once_and_reads_what_was_there_at_the_start():
    source = Growing()
    q = sn.start("SELECT v FROM g", sources={"g": source}, trigger="available_now")
    assert q.await_termination(timeout=30)
    assert source.asked == 1
    assert q.result["v"].tolist() == [0, 1, 2, 3]
    assert [p["numInputRows"] for p in q.recent_progress] == [2, 2]
    # each batch reports the latest offset the start saw, as Spark's AvailableNow does
    assert [p["sources"][0]["latestOffset"] for p in q.recent_progress] == [4, 4]


def test_other_triggers_ask_the_source_at_every_trigger():
    source = Growing()
    q = sn.start("SELECT v FROM g", sources={"g": source}, trigger="manual")
    first, second = q.step(), q.step()
    assert source.asked == 2
    assert [first["sources"][0]["latestOffset"], second["sources"][0]["latestOffset"]] == [4, 8]
    assert q.result["v"].tolist() == [0, 1, 2, 3]
    q.stop()


def test_one_source_read_by_two_inputs_is_asked_once_a_trigger_and_both_read_the_same_rows():
    # a union's branches over one stream (two scans sharing a reader, as stream_nb.pyspark makes them): were it
    # asked once per input, rows arriving between the two asks would reach one branch a batch before the other,
    # and that branch's watermark could drop the other's rows as late
    source = Growing()
    q = sn.start("SELECT v, 'a' AS side FROM a UNION ALL SELECT v, 'b' AS side FROM b",
                 sources={"a": source, "b": source}, trigger="manual")
    first = q.step()
    assert source.asked == 1
    assert [s["latestOffset"] for s in first["sources"]] == [4, 4]
    assert [s["endOffset"] for s in first["sources"]] == [2, 2]
    q.step()
    assert source.asked == 2
    rows = sorted(zip(q.result["side"], q.result["v"]))
    assert rows == [("a", 0), ("a", 1), ("a", 2), ("a", 3), ("b", 0), ("b", 1), ("b", 2), ("b", 3)]
    q.stop()


class Counted(Growing):
    def __init__(self):
        super().__init__()
        self.reads = 0

    def read(self, start, end):
        self.reads += 1
        return super().read(start, end)


def test_a_source_and_a_view_of_it_in_one_query_are_asked_once_and_read_once_a_batch():
    # a union of a stream with a view of it (stream_nb.pyspark's withWatermark on a computed column makes one):
    # both read the rows of the same offsets, from one read
    from stream_nb.sources.derived import derived

    source = Counted()
    view = derived(source, "SELECT v * 10 AS v FROM g", "g")
    q = sn.start("SELECT v, 'raw' AS side FROM a UNION ALL SELECT v, 'view' AS side FROM b",
                 sources={"a": source, "b": view}, trigger="manual")
    first = q.step()
    assert (source.asked, source.reads) == (1, 1)
    assert [s["endOffset"] for s in first["sources"]] == [2, 2]
    q.step()
    assert (source.asked, source.reads) == (2, 2)
    rows = sorted(zip(q.result["side"], q.result["v"]))
    assert rows == [("raw", 0), ("raw", 1), ("raw", 2), ("raw", 3), ("view", 0), ("view", 10), ("view", 20),
                    ("view", 30)]
    q.stop()
    assert view._con is None  # the view's own connection is closed with the query
