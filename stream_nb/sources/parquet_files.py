"""Reading one parquet file for the files source: only the columns the stream's schema names, and string
columns with a small dictionary decoded from it once.

A string column is mostly written dictionary-encoded (a device, a country, a status: few distinct values).
Arrow's reader, asked for plain strings, appends value after value from the dictionary pages (200,000 rows of
1,000 devices: 5.4 ms); read as its dictionary and then cast, the strings are gathered from the dictionary in
one pass (1.0 + 1.4 ms). The cast gives back the very column a plain read gives, so nothing downstream sees the
difference; the encoded column is handed on beside it (``read_parquet_encoded``) for an aggregation to group a
string key by its indices (``engine/partials.py``: 200 k rows into 20 k groups, 6.5 ms by the strings, 5.0 by the
indices). A column whose writer gave up its dictionary part-way (too many distinct values) would be
dictionary-encoded again value by value (4 x slower than plain), so only a column chunk whose dictionary page
is small for its rows is read so.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq

from stream_nb.types import SchemaError

# A dictionary page at most this many bytes a row (0.02 for 1,000 devices in 200,000 rows). A writer gives up
# its dictionary at 1 MB (Arrow's and parquet-mr's default), so a chunk that fell back to plain has a dictionary
# page this small only in a row group of millions of rows.
DICTIONARY_BYTES_PER_ROW = 0.25


def read_parquet(path: str, names: list[str], *, threads: bool = True) -> pa.Table:
    """The file's columns named in ``names`` (every column if its names repeat or hold a dot), as a plain
    read gives them. ``threads``: decode the columns on Arrow's threads (sooner on an idle machine, about
    0.9 ms more CPU a 200 k-row file: a read ahead, which overlaps a batch anyway, goes without).

    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "a.parquet")
    >>> pq.write_table(pa.table({"device": ["d1", "d2", "d1"], "temp": [1.0, 2.0, 3.0], "x": [1, 2, 3]}), path)
    >>> read_parquet(path, ["device", "temp"]).to_pydict()
    {'device': ['d1', 'd2', 'd1'], 'temp': [1.0, 2.0, 3.0]}
    """
    return read_parquet_encoded(path, names, threads=threads)[0]


def read_parquet_encoded(path: str, names: list[str], *, threads: bool = True) \
        -> tuple[pa.Table, dict[str, pa.ChunkedArray]]:
    """``read_parquet``'s table, and the string columns it read through their dictionary as they were read
    (dictionary-encoded: an aggregation can group by their indices, see ``engine/partials.py``).

    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "a.parquet")
    >>> pq.write_table(pa.table({"device": ["d1", "d2", "d1"] * 100}), path)
    >>> table, encoded = read_parquet_encoded(path, ["device"])
    >>> table.column("device").type, encoded["device"].chunk(0).indices.to_pylist()[:3]
    (DataType(string), [0, 1, 0])
    """
    with pq.ParquetFile(path) as parquet:
        file_schema = parquet.schema_arrow
        # pyarrow picks columns by dotted path: a name with a dot (or a repeated one) reads every column
        plain_names = len(set(file_schema.names)) == len(file_schema.names) and \
            not any("." in name for name in file_schema.names)
        spelled = file_columns(file_schema.names, names)
        wanted = set(spelled)
        columns = [name for name in file_schema.names if name in wanted] if plain_names else None
        decode = [name for name in dictionary_columns(parquet.metadata, file_schema) if name in wanted] \
            if plain_names else []
        if not decode:
            return _named(parquet.read(columns=columns, use_threads=threads), spelled), {}
        metadata = parquet.metadata
    with pq.ParquetFile(path, metadata=metadata, read_dictionary=decode) as parquet:
        table = parquet.read(columns=columns, use_threads=threads)
    encoded = {}
    for name in decode:  # back to the file's string type: the column a plain read gives
        field, index = file_schema.field(name), table.schema.get_field_index(name)
        encoded[spelled[name]] = table.column(index)
        table = table.set_column(index, field, encoded[spelled[name]].cast(field.type))
    return _named(table, spelled), encoded


def file_columns(in_file: list[str], names: list[str]) -> dict[str, str]:
    """Which of the file's columns are the stream's ``names``, as Spark's parquet reader matches them: by the
    name in any case (``spark.sql.caseSensitive`` is off by default); a name that two of the file's columns
    match (``a`` and ``A``) is ambiguous, an error naming both, as in Spark. {file's name: stream's name}.

    >>> file_columns(["Device", "temp", "x"], ["device", "temp", "ts"])
    {'Device': 'device', 'temp': 'temp'}
    """
    folded: dict[str, list[str]] = {}
    for name in in_file:
        folded.setdefault(name.lower(), []).append(name)
    spelled = {}
    for name in names:
        matches = folded.get(name.lower(), [])
        if len(matches) > 1:
            raise SchemaError(f"column {name!r} is ambiguous: the file has {', '.join(map(repr, matches))}, "
                             "which differ only in case")
        if matches:
            spelled[matches[0]] = name
    return spelled


def _named(table: pa.Table, spelled: dict[str, str]) -> pa.Table:
    """``table`` with its columns under the stream's names (a column matched in another case renamed)."""
    if all(spelled.get(name, name) == name for name in table.column_names):
        return table
    return table.rename_columns([spelled.get(name, name) for name in table.column_names])


def dictionary_columns(metadata: pq.FileMetaData, schema: pa.Schema) -> list[str]:
    """The top-level string columns worth reading as their dictionary: in every row group dictionary-encoded,
    with a dictionary page of at most ``DICTIONARY_BYTES_PER_ROW`` bytes a row."""
    return [f.name for f in schema
            if (pa.types.is_string(f.type) or pa.types.is_large_string(f.type)) and _small_dictionary(metadata, f.name)]


def _small_dictionary(metadata: pq.FileMetaData, name: str) -> bool:
    """Whether every row group holds column ``name`` dictionary-encoded with a small dictionary page."""
    if metadata.num_row_groups == 0:
        return False
    for group in range(metadata.num_row_groups):
        row_group = metadata.row_group(group)
        chunk = next((row_group.column(i) for i in range(row_group.num_columns)
                      if row_group.column(i).path_in_schema == name), None)
        if chunk is None or not chunk.has_dictionary_page or chunk.dictionary_page_offset is None:
            return False
        dictionary_bytes = chunk.data_page_offset - chunk.dictionary_page_offset
        if not 0 < dictionary_bytes <= DICTIONARY_BYTES_PER_ROW * max(chunk.num_values, 1):
            return False
    return True
