"""Spark's generators beyond explode (sql/generators.py): explode_outer, posexplode, LATERAL VIEW [OUTER], with
Spark's column names; what is not supported yet is refused by name, at its place in the SQL. (Spark's answers
on the same rows: tests/differential/cases_more.py.)"""

import datetime as dt

import pytest

import stream_nb as sn
from stream_nb.sql.errors import StreamSQLError

SCHEMA = "ts timestamp, device string, tags array<string>"
ROWS = [{"ts": dt.datetime(2024, 1, 1, tzinfo=dt.UTC), "device": "a", "tags": ["x", "y"]},
        {"ts": dt.datetime(2024, 1, 1, tzinfo=dt.UTC), "device": "b", "tags": None},
        {"ts": dt.datetime(2024, 1, 1, tzinfo=dt.UTC), "device": "c", "tags": []}]


def rows_of(sql: str, schema: str = SCHEMA, rows: list[dict] = ROWS) -> list[dict]:
    src = sn.sources.memory(schema)
    q = sn.start(sql, sources={"s": src}, trigger="manual")
    try:
        src.add_data(rows)
        q.step()
        return q.sink.table().to_pylist()
    finally:
        q.stop()


def test_explode_outer_keeps_a_null_row_for_a_null_or_empty_array_and_is_named_col():
    assert rows_of("SELECT device, explode_outer(tags) FROM s") == [
        {"device": "a", "col": "x"}, {"device": "a", "col": "y"}, {"device": "b", "col": None},
        {"device": "c", "col": None}]


def test_posexplode_gives_pos_and_col_or_the_names_given():
    assert rows_of("SELECT device, posexplode(tags) FROM s") == [
        {"device": "a", "pos": 0, "col": "x"}, {"device": "a", "pos": 1, "col": "y"}]
    assert rows_of("SELECT posexplode(tags) AS (i, tag) FROM s") == [{"i": 0, "tag": "x"}, {"i": 1, "tag": "y"}]


def test_posexplode_outer_keeps_a_row_of_nulls_position_too_for_a_null_or_empty_array_or_map():
    assert rows_of("SELECT device, posexplode_outer(tags) FROM s") == [
        {"device": "a", "pos": 0, "col": "x"}, {"device": "a", "pos": 1, "col": "y"},
        {"device": "b", "pos": None, "col": None}, {"device": "c", "pos": None, "col": None}]
    assert rows_of("SELECT device, i, t FROM s LATERAL VIEW OUTER posexplode(tags) v AS i, t WHERE i IS NULL") == [
        {"device": "b", "i": None, "t": None}, {"device": "c", "i": None, "t": None}]
    assert map_rows_of("SELECT device, posexplode_outer(attrs) AS (p, k, v) FROM s") == [
        {"device": "a", "p": 0, "k": "x", "v": 1.5}, {"device": "a", "p": 1, "k": "y", "v": 2.0},
        {"device": "b", "p": None, "k": None, "v": None}, {"device": "c", "p": None, "k": None, "v": None}]


def test_lateral_views_read_through_their_names_outer_keeps_every_row():
    sql = "SELECT t.device, v.tag, w.c FROM s t LATERAL VIEW OUTER explode(tags) v AS tag " \
          "LATERAL VIEW explode(array(v.tag, 'z')) w AS c WHERE w.c <> 'z'"
    assert sorted(rows_of(sql), key=str) == sorted([{"device": "a", "tag": "x", "c": "x"},
                                                    {"device": "a", "tag": "y", "c": "y"}], key=str)
    outer = rows_of("SELECT device, tag FROM s LATERAL VIEW OUTER explode(tags) v AS tag")
    assert [r["device"] for r in outer] == ["a", "a", "b", "c"]


def test_inline_gives_a_row_per_struct_and_a_column_per_field_and_inline_outer_keeps_empty_arrays():
    sql = "SELECT device, inline(transform(tags, t -> named_struct('tag', t, 'n', length(t)))) FROM s"
    assert rows_of(sql) == [{"device": "a", "tag": "x", "n": 1}, {"device": "a", "tag": "y", "n": 1}]
    outer = rows_of("SELECT device, inline_outer(transform(tags, t -> named_struct('tag', t))) FROM s")
    assert outer == [{"device": "a", "tag": "x"}, {"device": "a", "tag": "y"}, {"device": "b", "tag": None},
                     {"device": "c", "tag": None}]


MAPS = [{"device": "a", "attrs": {"x": 1.5, "y": 2.0}}, {"device": "b", "attrs": None}, {"device": "c", "attrs": {}}]


def map_rows_of(sql: str) -> list[dict]:
    return rows_of(sql, "device string, attrs map<string, double>", MAPS)


def test_explode_of_a_map_gives_a_row_per_entry_in_key_and_value_or_the_names_given():
    assert map_rows_of("SELECT device, explode(attrs) FROM s") == [
        {"device": "a", "key": "x", "value": 1.5}, {"device": "a", "key": "y", "value": 2.0}]
    assert map_rows_of("SELECT explode(attrs) AS (k, v) FROM s") == [{"k": "x", "v": 1.5}, {"k": "y", "v": 2.0}]
    assert map_rows_of("SELECT device, posexplode(attrs) FROM s") == [
        {"device": "a", "pos": 0, "key": "x", "value": 1.5}, {"device": "a", "pos": 1, "key": "y", "value": 2.0}]
    assert [r["key"] for r in map_rows_of("SELECT device, explode_outer(attrs) FROM s")] == ["x", "y", None, None]
    assert map_rows_of("SELECT device, key FROM s LATERAL VIEW OUTER explode(attrs) e WHERE value IS NULL") == [
        {"device": "b", "key": None}, {"device": "c", "key": None}]
    assert map_rows_of("SELECT k, v * 2 AS twice FROM (SELECT explode(attrs) AS (k, v) FROM s) WHERE k = 'y'") == [
        {"k": "y", "twice": 4.0}]


def test_a_map_is_known_through_aliases_struct_fields_and_from_jsons_schema_or_by_the_names_of_its_entries():
    assert map_rows_of("SELECT explode(m) FROM (SELECT attrs AS m FROM s)") == [
        {"key": "x", "value": 1.5}, {"key": "y", "value": 2.0}]
    assert rows_of("SELECT explode(e.m) FROM (SELECT from_json(j, 'm MAP<STRING, INT>') AS e FROM s)",
                   "j string", [{"j": '{"m": {"a": 1, "b": 2}}'}]) == [{"key": "a", "value": 1}, {"key": "b", "value": 2}]
    assert rows_of("SELECT explode(r.m) FROM s", "r struct<m: map<string, int>>", [{"r": {"m": [("a", 1)]}}]) == [
        {"key": "a", "value": 1}]
    # a CASE has no type before names are bound: the two names say it is a map's entries
    assert map_rows_of("SELECT explode(CASE WHEN device = 'a' THEN attrs END) AS (k, v) FROM s") == [
        {"k": "x", "v": 1.5}, {"k": "y", "v": 2.0}]


def test_a_lateral_view_over_an_unnamed_subquery_reads_its_columns():
    assert map_rows_of("SELECT device, k FROM (SELECT device, attrs FROM s) LATERAL VIEW explode(attrs) e AS k, v") \
        == [{"device": "a", "k": "x"}, {"device": "a", "k": "y"}]


def test_one_name_for_a_maps_two_columns_is_refused_where_it_is_written():
    with pytest.raises(StreamSQLError, match=r"explode of a map gives 2 columns \(key, value\)") as err:
        map_rows_of("SELECT device, explode(attrs) AS entry FROM s")
    assert err.value.start == len("SELECT device, ")


def test_a_generators_name_may_be_a_source_columns_and_the_next_generator_reads_the_source_column():
    assert rows_of("SELECT device, explode(tags) AS tags, explode(array(size(tags))) AS n FROM s") == [
        {"device": "a", "tags": "x", "n": 2}, {"device": "a", "tags": "y", "n": 2}]


def test_two_generators_in_one_select_give_every_combination_as_spark_4():
    assert rows_of("SELECT device, explode(tags) AS a, posexplode(tags) AS (i, b) FROM s") == [
        {"device": "a", "a": "x", "i": 0, "b": "x"}, {"device": "a", "a": "x", "i": 1, "b": "y"},
        {"device": "a", "a": "y", "i": 0, "b": "x"}, {"device": "a", "a": "y", "i": 1, "b": "y"}]


@pytest.mark.parametrize(("sql", "message", "at"), [
    ("SELECT explode(tags), explode(tags) FROM s", "make columns of one name", "explode(tags) FROM"),
    ("SELECT *, explode(tags) AS a, explode(tags) AS b FROM s", r"several generators in one SELECT with \* are",
     "explode(tags) AS b"),
    ("SELECT device, inline(array(struct(1 AS n))) AS (m) FROM s", r"inline\(...\) AS \(...\) is not supported yet",
     "inline"),
    ("SELECT n FROM (SELECT inline(array(struct(1 AS n))) FROM s)", r"inline\(\) in a subquery is not supported yet",
     "inline"),
])
def test_what_is_not_there_yet_is_refused_by_name(sql, message, at):
    with pytest.raises(StreamSQLError, match=message) as caught:
        sn.start(sql, sources={"s": sn.sources.memory(SCHEMA)}, trigger="manual")
    assert caught.value.column == sql.index(at) + 1
