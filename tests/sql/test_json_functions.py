"""Spark's JSON functions in a streaming query, with Spark's non-ANSI (PERMISSIVE) answers. Every expected row is
what PySpark 4.3 returned for the same SQL over the same documents (spark.sql over a VALUES table,
spark.sql.ansi.enabled=false, session time zone UTC), written here as literals."""

import math
from datetime import date

import pandas as pd
import pytest

import stream_nb as sn
from stream_nb.sql.errors import StreamSQLError

DOCUMENTS = ['{"a": 1, "b": "x"}', '{"a": "oops", "b": "y"}', 'not json', None, '{"a": 2}', '{"a": 3.7, "b": 5}',
             '{"b": {"c": 1}, "a": 10}', '[1,2]', '{"A": 4, "b": "z"}', '{"a": 2147483648}', '{"a": true}',
             '{"a": "5"}', '{"a": null, "b": null}', '']


def _plain(value):
    """A value of q.result as Python: NULL (None, NaN, pd.NA) is None, structs are dicts."""
    if isinstance(value, dict):
        return {key: _plain(field) for key, field in value.items()}
    if isinstance(value, (list, tuple)) or getattr(value, "ndim", 0) == 1:
        return [_plain(element) for element in value]
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    return value.item() if hasattr(value, "item") else value


def rows_of(sql: str) -> list[tuple]:
    """The query's rows over DOCUMENTS (column ``s``, row number ``i``) after one batch, by ``i``."""
    src = sn.sources.memory("i int, s string")
    q = sn.start(sql, sources={"src": src}, trigger="manual")
    src.add_data([{"i": i, "s": s} for i, s in enumerate(DOCUMENTS)])
    q.step()
    assert q.exception is None, q.exception
    result = q.result.sort_values("i")
    q.stop()
    return [tuple(_plain(v) for v in row) for row in result.itertuples(index=False)]


def _fields(*pairs):
    return {"a": pairs[0], "b": pairs[1]}


FROM_JSON_A_INT_B_STRING = [
    (0, _fields(1, "x")), (1, _fields(None, "y")), (2, _fields(None, None)), (3, None), (4, _fields(2, None)),
    (5, _fields(None, "5")), (6, _fields(10, '{"c":1}')), (7, _fields(None, None)), (8, _fields(None, "z")),
    (9, _fields(None, None)), (10, _fields(None, None)), (11, _fields(None, None)), (12, _fields(None, None)),
    (13, None),
]


def test_from_json_gives_a_struct_of_nulls_for_a_malformed_document_and_null_for_null_or_empty_text():
    assert rows_of("SELECT i, from_json(s, 'a INT, b STRING') AS j FROM src") == FROM_JSON_A_INT_B_STRING


def test_a_field_of_from_json_is_read_with_a_dot():
    assert rows_of("SELECT i, from_json(s, 'a INT, b STRING').a AS a FROM src") == [
        (0, 1), (1, None), (2, None), (3, None), (4, 2), (5, None), (6, 10), (7, None), (8, None), (9, None),
        (10, None), (11, None), (12, None), (13, None)]


def test_star_of_a_from_json_struct_gives_its_fields_as_columns():
    expected = [(i, None, None) if j is None else (i, j["a"], j["b"]) for i, j in FROM_JSON_A_INT_B_STRING]
    assert rows_of("SELECT i, j.* FROM (SELECT i, from_json(s, 'a INT, b STRING') AS j FROM src)") == expected
    assert rows_of("SELECT i, j.a, j.b FROM (SELECT i, from_json(s, 'a INT, b STRING') AS j FROM src)") == expected


def test_from_json_fields_of_the_wrong_json_type_are_null_and_numbers_widen():
    rows = rows_of("SELECT i, from_json(s, 'a DOUBLE, b BIGINT, c BOOLEAN') AS j FROM src")
    nulls = {"a": None, "b": None, "c": None}
    assert rows == [
        (0, {**nulls, "a": 1.0}), (1, nulls), (2, nulls), (3, None), (4, {**nulls, "a": 2.0}),
        (5, {"a": 3.7, "b": 5, "c": None}), (6, {**nulls, "a": 10.0}), (7, nulls), (8, nulls),
        (9, {**nulls, "a": 2147483648.0}), (10, nulls), (11, nulls), (12, nulls), (13, None)]


def test_from_json_reads_a_boolean_field():
    src = sn.sources.memory("i int, s string")
    q = sn.start("SELECT i, from_json(s, 'a BOOLEAN').a AS a FROM src", sources={"src": src}, trigger="manual")
    src.add_data([{"i": 0, "s": '{"a": true}'}, {"i": 1, "s": '{"a": "true"}'}, {"i": 2, "s": '{"a": 1}'}])
    q.step()
    assert [_plain(v) for v in q.result.sort_values("i")["a"]] == [True, None, None]
    q.stop()


def test_from_json_reads_dates_and_timestamps_in_sparks_forms_null_otherwise():
    documents = ['{"d": "2024-01-02", "t": "2024-01-02T03:04:05Z"}', '{"d": "2024/01/02", "t": "2024-01-02 03:04:05"}',
                 '{"d": 5, "t": "garbage"}', '{"d": "2024-02-30", "t": "2024-01-02T03:04:05.123+01:00"}',
                 '{"d": "2024-1-2", "t": "2024-01-02"}']
    src = sn.sources.memory("i int, s string")
    q = sn.start("SELECT i, from_json(s, 'd DATE, t TIMESTAMP') AS j FROM src", sources={"src": src},
                 trigger="manual")
    src.add_data([{"i": i, "s": d} for i, d in enumerate(documents)])
    q.step()
    found = [(i, _plain(j["d"]), None if pd.isna(j["t"]) else str(j["t"]))
             for i, j in sorted(zip(q.result["i"], q.result["j"]))]
    q.stop()
    assert found == [(0, date(2024, 1, 2), "2024-01-02 03:04:05+00:00"), (1, None, "2024-01-02 03:04:05+00:00"),
                     (2, None, None), (3, None, "2024-01-02 02:04:05.123000+00:00"),
                     (4, date(2024, 1, 2), "2024-01-02 00:00:00+00:00")]


def test_from_json_nested_struct_reads_what_it_can_and_an_array_with_a_bad_element_is_null():
    documents = ['{"p": {"x": 1, "y": "a"}, "l": [1, 2, 3]}', '{"p": {"x": "bad", "y": 2}, "l": [1, "two", 3]}',
                 '{"p": 5, "l": 7}', '{"p": null, "l": null}', '{"p": {}, "l": []}', '{"l": [1, null, 2.5]}']
    src = sn.sources.memory("i int, s string")
    q = sn.start("SELECT i, from_json(s, 'p STRUCT<x: INT, y: STRING>, l ARRAY<INT>') AS j FROM src",
                 sources={"src": src}, trigger="manual")
    src.add_data([{"i": i, "s": d} for i, d in enumerate(documents)])
    q.step()
    found = [(_plain(i), _plain(j)) for i, j in sorted(zip(q.result["i"], q.result["j"]), key=lambda r: r[0])]
    q.stop()
    assert found == [(0, {"p": {"x": 1, "y": "a"}, "l": [1, 2, 3]}), (1, {"p": {"x": None, "y": "2"}, "l": None}),
                     (2, {"p": None, "l": None}), (3, {"p": None, "l": None}),
                     (4, {"p": {"x": None, "y": None}, "l": []}), (5, {"p": None, "l": None})]


def test_get_json_object_gives_text_and_null_where_missing_json_null_or_malformed():
    assert rows_of("SELECT i, get_json_object(s, '$.a') AS a, get_json_object(s, '$.b') AS b, "
                   "get_json_object(s, '$.b.c') AS bc FROM src") == [
        (0, "1", "x", None), (1, "oops", "y", None), (2, None, None, None), (3, None, None, None),
        (4, "2", None, None), (5, "3.7", "5", None), (6, "10", '{"c":1}', "1"), (7, None, None, None),
        (8, None, "z", None), (9, "2147483648", None, None), (10, "true", None, None), (11, "5", None, None),
        (12, None, None, None), (13, None, None, None)]


def test_get_json_object_paths_into_arrays_and_the_whole_document():
    assert rows_of("SELECT i, get_json_object('{\"a\":[1,{\"b\":2}]}', '$.a[1].b') AS x, "
                   "get_json_object('{\"a\":[1,2]}', '$.a') AS y, get_json_object('{\"a\":\"s\"}', '$') AS z, "
                   "get_json_object('{\"a\":1.50}', '$.a') AS w FROM src WHERE i = 0") == [
        (0, "2", "[1,2]", '{"a":"s"}', "1.5")]


def test_json_tuple_gives_columns_c0_c1_as_get_json_object():
    rows = rows_of("SELECT i, json_tuple(s, 'a', 'b') FROM src")
    assert rows == [
        (0, "1", "x"), (1, "oops", "y"), (2, None, None), (3, None, None), (4, "2", None), (5, "3.7", "5"),
        (6, "10", '{"c":1}'), (7, None, None), (8, None, "z"), (9, "2147483648", None), (10, "true", None),
        (11, "5", None), (12, None, None), (13, None, None)]
    src = sn.sources.memory("i int, s string")
    q = sn.start("SELECT i, json_tuple(s, 'a', 'b') FROM src", sources={"src": src}, trigger="manual")
    assert list(q.schema.names) == ["i", "c0", "c1"]
    q.stop()
    assert rows_of("SELECT i, json_tuple(s, 'b', 'a') AS (bee, ay) FROM src WHERE i < 2") == [
        (0, "x", "1"), (1, "y", "oops")]


def test_to_json_leaves_out_null_fields():
    assert rows_of("SELECT i, to_json(from_json(s, 'a INT, b STRING')) AS t FROM src") == [
        (0, '{"a":1,"b":"x"}'), (1, '{"b":"y"}'), (2, "{}"), (3, None), (4, '{"a":2}'), (5, '{"b":"5"}'),
        (6, '{"a":10,"b":"{\\"c\\":1}"}'), (7, "{}"), (8, '{"b":"z"}'), (9, "{}"), (10, "{}"), (11, "{}"),
        (12, "{}"), (13, None)]


def test_to_json_of_a_named_struct():
    rows = rows_of("SELECT i, to_json(named_struct('a', i, 'b', s)) AS t FROM src WHERE i IN (2, 3, 13)")
    assert rows == [(2, '{"a":2,"b":"not json"}'), (3, '{"a":3}'), (13, '{"a":13,"b":""}')]
    assert rows_of("SELECT i, to_json(named_struct('x', 1.5D, 'y', CAST(NULL AS INT), 'z', true, 'w', 'q\"')) "
                   "AS t FROM src WHERE i = 0") == [(0, '{"x":1.5,"z":true,"w":"q\\""}')]


def test_to_json_of_struct_star_is_every_column_read_and_writes_times_as_spark():
    """``to_json(struct(*))``, the usual Kafka value: every column by its name; a timestamp as Spark's JSON writes
    it (milliseconds, ``Z``), in arrays and nested structs too; a timestamp_ntz without the zone."""
    src = sn.sources.memory("ts timestamp, s string, n int")
    q = sn.start("SELECT to_json(struct(*)) AS a, to_json(named_struct('ntz', CAST(ts AS timestamp_ntz), "
                 "'arr', array(ts), 'inner', named_struct('t', ts), 'none', CAST(NULL AS timestamp))) AS b FROM src",
                 trigger="manual")
    try:
        src.add_data([{"ts": pd.Timestamp("2024-01-01 01:02:03.45", tz="UTC"), "s": "x", "n": None}])
        q.step()
        assert q.exception is None, q.exception
        assert q.result.to_dict("records") == [{
            "a": '{"ts":"2024-01-01T01:02:03.450Z","s":"x"}',
            "b": '{"ntz":"2024-01-01T01:02:03.450","arr":["2024-01-01T01:02:03.450Z"],'
                 '"inner":{"t":"2024-01-01T01:02:03.450Z"}}'}]
    finally:
        q.stop()


def test_from_json_reads_an_object_as_a_map_null_when_a_value_does_not_read():
    """What PySpark 4.3 gives for these documents (checked there)."""
    docs = ['{"k": 1, "j": 2}', '{"k": 1, "j": "x"}', "[1]", "{}", "oops", None, "", '{"k": null, "z": 3}',
            '{"x": {"k": 2}, "y": [1]}', '{"x": {"k": "bad"}}', '{"x": 5}']
    src = sn.sources.memory("id int, s string")
    q = sn.start("SELECT id, from_json(s, 'map<string,int>') AS a, from_json(s, 'x map<string, int>') AS b, "
                 "from_json(s, 'map<string, array<int>>') AS c, from_json(s, 'map<string,string>') AS d FROM s",
                 sources={"s": src}, trigger="manual")
    src.add_data([{"id": i, "s": d} for i, d in enumerate(docs)])
    q.step()
    rows = q.result.sort_values("id").to_dict("records")
    q.stop()
    assert [(r["a"], r["b"], r["c"], r["d"]) for r in rows] == [
        ({"k": 1, "j": 2}, {"x": None}, None, {"k": "1", "j": "2"}),
        (None, {"x": None}, None, {"k": "1", "j": "x"}),
        (None, {"x": None}, None, None),
        ({}, {"x": None}, {}, {}),
        (None, {"x": None}, None, None),
        (None, None, None, None),
        (None, None, None, None),
        ({"k": None, "z": 3}, {"x": None}, None, {"k": None, "z": "3"}),
        (None, {"x": {"k": 2}}, None, {"x": '{"k":2}', "y": "[1]"}),
        (None, {"x": None}, None, {"x": '{"k":"bad"}'}),
        ({"x": 5}, {"x": None}, None, {"x": "5"}),
    ]


def test_from_json_of_an_aggregate_reads_a_map_per_group():
    src = sn.sources.memory("k string, s string")
    q = sn.start("SELECT k, from_json(max(s), 'map<string,int>') AS m FROM s GROUP BY k", sources={"s": src},
                 trigger="manual")
    src.add_data([{"k": "a", "s": '{"x": 1}'}, {"k": "a", "s": '{"y": 2}'}, {"k": "b", "s": "oops"}])
    q.step()
    rows = q.result.sort_values("k").to_dict("records")
    q.stop()
    assert rows == [{"k": "a", "m": {"y": 2}}, {"k": "b", "m": None}]


@pytest.mark.parametrize(("schema", "says"), [
    ("not a schema (", "is not a DDL list of fields"),
    ("a MAP<INT, INT>", "field 'a' of type MAP<INT, INT> is not supported yet"),
])
def test_a_from_json_schema_it_cannot_read_is_refused_by_name(schema, says):
    src = sn.sources.memory("i int, s string")
    with pytest.raises(StreamSQLError, match=says):
        sn.start(f"SELECT from_json(s, '{schema}') AS j FROM src", sources={"src": src}, trigger="manual")
