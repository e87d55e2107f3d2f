"""Output column names: as Spark names them, duplicates allowed (issue 12 case 10), the case kept as written."""

import pandas as pd
import pytest

import stream_nb as sn


def result_of(sql: str, rows: list[dict]) -> pd.DataFrame:
    src = sn.sources.memory("device string, temp double")
    q = sn.start(sql, sources={"src": src}, trigger="manual")
    src.add_data(rows)
    q.step()
    assert q.exception is None, q.exception
    return q.result


@pytest.mark.parametrize(("sql", "values"), [
    ("SELECT temp AS x, device AS x FROM src", [1.5, "a"]),
    ("SELECT device AS x, max(temp) AS x FROM src GROUP BY device", ["a", 1.5]),
])
def test_case_10_duplicate_output_names_keep_each_column_and_its_type(sql, values):
    result = result_of(sql, [{"device": "a", "temp": 1.5}])
    assert list(result.columns) == ["x", "x"]
    assert result.iloc[0].tolist() == values
    double = values.index(1.5)
    assert pd.api.types.is_float_dtype(result.dtypes.iloc[double]), result.dtypes.tolist()


@pytest.mark.parametrize("sink", ["duckdb", "files"])
def test_case_10_duplicate_output_names_are_refused_at_start_by_the_sinks_that_store_by_name(sink, tmp_path):
    src = sn.sources.memory("device string, temp double")
    # a table cannot hold x twice (DuckDB made it x_1 silently); a parquet file with x twice could not be read back
    target = sn.sinks.duckdb(tmp_path / "out.db", "t") if sink == "duckdb" else sn.sinks.files(tmp_path / "out")
    with pytest.raises(ValueError, match=f"the {sink} sink stores columns by name.*'X' more than once"):
        sn.start("SELECT temp AS x, device AS X FROM src", sources={"src": src}, sink=target, trigger="manual")


def test_an_alias_keeps_its_case_as_written():
    result = result_of("SELECT device AS Key, temp AS Temp_C FROM src", [{"device": "a", "temp": 1.5}])
    assert list(result.columns) == ["Key", "Temp_C"]


def test_aliases_differing_only_in_case_are_two_columns():
    result = result_of("SELECT device AS Key, temp AS key FROM src", [{"device": "a", "temp": 1.5}])
    assert list(result.columns) == ["Key", "key"] and result.iloc[0].tolist() == ["a", 1.5]


def test_order_by_and_having_find_an_alias_in_any_case():
    src = sn.sources.memory("device string, temp double")
    q = sn.start("SELECT device AS Dev, count(*) AS N FROM src GROUP BY dev HAVING n > 1 ORDER BY n DESC, DEV",
                 sources={"src": src}, output_mode="complete", trigger="manual")
    src.add_data([{"device": d, "temp": 1.0} for d in "abbccc"])
    q.step()
    assert q.result.to_dict("records") == [{"Dev": "c", "N": 3}, {"Dev": "b", "N": 2}]


@pytest.mark.parametrize(("sql", "columns"), [
    ("SELECT * FROM (SELECT device AS DEV, temp * 2 AS Twice FROM src)", ["DEV", "Twice"]),
    # a column named in the select list is named as written there, what * expands to as its source spells it
    # (PySpark 4.3's answers)
    ("SELECT dev, twice FROM (SELECT device AS DEV, temp * 2 AS Twice FROM src)", ["dev", "twice"]),
    ("SELECT * FROM (SELECT device, temp AS Temp FROM src)", ["device", "Temp"]),
    ("WITH t AS (SELECT device AS Device, temp FROM src) SELECT device, TEMP FROM t", ["device", "TEMP"]),
    ("WITH t AS (SELECT device AS Device, temp FROM src) SELECT * FROM t", ["Device", "temp"]),
])
def test_a_subquerys_alias_keeps_its_case_through_the_outer_select(sql, columns):
    assert list(result_of(sql, [{"device": "a", "temp": 1.5}]).columns) == columns


def test_star_keeps_the_case_its_stream_spells_a_column_with_a_named_column_as_written():
    src = sn.sources.memory("Dev string, Temp double")
    q = sn.start("SELECT *, dev, temp AS t FROM src", sources={"src": src}, trigger="manual")
    src.add_data([{"Dev": "a", "Temp": 1.5}])
    q.step()
    # * as the stream spells its columns, a column named in the select list as written (PySpark 4.3's answers)
    assert list(q.result.columns) == ["Dev", "Temp", "dev", "t"]


def test_a_query_over_a_query_keeps_its_column_names_and_can_aggregate_them():
    src = sn.sources.memory("device string, temp double")
    up = sn.start("SELECT device AS Dev, temp AS Temp FROM src", sources={"src": src}, trigger="manual")
    down = sn.start(f"SELECT dev, max(temp) AS hottest FROM {up.name} GROUP BY dev", trigger="manual")
    src.add_data([{"device": "a", "temp": 1.5}, {"device": "a", "temp": 2.5}])
    up.step()
    down.step()
    assert down.result.to_dict("records") == [{"dev": "a", "hottest": 2.5}]  # named as written, as in Spark


@pytest.mark.parametrize(("sql", "columns"), [  # each expected name is PySpark 4.3's for the same SELECT
    ("SELECT size(e.readings), e.s.x + 1, t.e.s.x * 2, e.readings['a'], e.s.x FROM t",
     ["size(e.readings)", "(e.s.x + 1)", "(e.s.x * 2)", "e.readings[a]", "x"]),
    ("SELECT struct(x), struct(x, 1 AS b), named_struct('a', x), named_struct('a', x).a FROM t",
     ["struct(x)", "struct(x, 1 AS b)", "named_struct(a, x)", "named_struct(a, x).a"]),
    ("SELECT map('k', x)['k'], arr[0], element_at(arr, 1), t.arr[1] + 1 FROM t",
     ["map(k, x)[k]", "arr[0]", "element_at(arr, 1)", "(arr[1] + 1)"]),
    ("SELECT from_json(s, 'a int').a, from_json(s, 'a int'), get_json_object(s, '$.a'), to_json(struct(x)) FROM t",
     ["from_json(s).a", "from_json(s)", "get_json_object(s, $.a)", "to_json(struct(x))"]),
    ("SELECT regexp_replace(s, 'a', 'A'), regexp_replace(s, 'a', 'A', 2) FROM t",
     ["regexp_replace(s, a, A, 1)", "regexp_replace(s, a, A, 2)"]),
])
def test_an_expression_over_struct_fields_maps_and_json_is_named_as_spark_names_it(sql, columns):
    # a struct's field keeps its path inside an expression (e.readings), a table's qualifier does not (t.arr);
    # a subscript's literal and a JSON path are bare; from_json's name leaves its schema out
    src = sn.sources.memory("x int, s string, arr array<int>, "
                            "e struct<readings map<string, double>, s struct<x int>>")
    q = sn.start(sql, sources={"t": src}, trigger="manual")
    assert q.schema.names == columns
    q.stop()
