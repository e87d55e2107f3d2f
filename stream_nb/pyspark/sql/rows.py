"""``createDataFrame``'s inputs (pandas, rows, tuples, dicts) as a table with Spark's column types: an Arrow
table of the schema when one is given (a None stays NULL in a double column), rows without one typed as Spark
infers them, a pandas frame as it is."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pyarrow as pa

from stream_nb.pyspark.sql.types import Row, StructType, _parse_datatype_string, to_ddl
from stream_nb.types import parse_schema, to_arrow


def frame_of(data: Any, schema: StructType | str | list[str] | None) -> pd.DataFrame | pa.Table:
    names = list(schema) if isinstance(schema, (list, tuple)) else None
    struct = _parse_datatype_string(schema) if isinstance(schema, str) else (
        schema if isinstance(schema, StructType) else None)
    if isinstance(data, pd.DataFrame):
        frame = data.copy()
    else:
        records = [_record(r) for r in data]
        if names is None and struct is not None:
            names = struct.fieldNames()
        if struct is None and records:
            return _inferred(records, names)
        rows = [dict(zip(names, r)) if isinstance(r, tuple) and names else r for r in records]
        # objects as given when a schema types them: pandas would make a None of a float column NaN
        frame = pd.DataFrame(rows, dtype=object if struct is not None else None)
        if not records and struct is not None:
            frame = pd.DataFrame(columns=struct.fieldNames())
    if names is not None and isinstance(data, pd.DataFrame):
        frame.columns = names
    if struct is None:
        return frame
    arrow = parse_schema(to_ddl(struct))
    if not isinstance(data, pd.DataFrame) and records and any(pa.types.is_map(t) for t in arrow.types):
        return to_arrow(frame.to_dict("records"), arrow)  # rows as records: a map from a dict or pairs
    return to_arrow(frame, arrow)


def _inferred(records: list, names: list[str] | None) -> pa.Table:
    """Rows without a schema, typed as Spark infers them: a Python int a long, a float a double, None a NULL of
    its column's type (pandas would make an int column with a None doubles, the None NaN); tuples' columns named
    ``_1``, ``_2``... unless named."""
    if all(isinstance(r, tuple) for r in records):
        widths = {len(r) for r in records}
        if len(widths) > 1:
            raise ValueError(f"createDataFrame: rows of {sorted(widths)} values: every row needs as many values "
                             "as the first")
        names = list(names) if names else [f"_{i + 1}" for i in range(widths.pop())]
        records = [dict(zip(names, r)) for r in records]
    elif not all(isinstance(r, dict) for r in records):
        raise TypeError("createDataFrame: rows are all tuples (or lists, Rows) or all dicts, not a mix")
    else:  # every row's keys, as Spark merges the rows' schemas (a key a row lacks is NULL there)
        keys = list(dict.fromkeys(k for r in records for k in r))
        records = [{k: r.get(k) for k in keys} for r in records]
    try:
        return pa.Table.from_pylist(records)
    except (pa.ArrowInvalid, pa.ArrowTypeError) as err:
        raise TypeError(f"createDataFrame: cannot infer the columns' types from the rows ({err}); give a schema, "
                        "e.g. \"a INT, b STRING\"") from None


def _record(row: Any) -> Any:
    if isinstance(row, Row) and row.__fields__:
        return row.asDict()
    if isinstance(row, dict):
        return row
    return tuple(row) if isinstance(row, (list, tuple)) else (row,)
