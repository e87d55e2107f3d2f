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
