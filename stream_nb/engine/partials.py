"""Partial aggregates of one batch, per key, with Arrow's hash aggregation.

Arrow aggregates the batch's columns where they are (no conversion of strings, as a SQL engine scanning
Arrow needs), and in arrival order, which is what ``first`` and ``last`` mean here.
"""

from __future__ import annotations

import math

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from stream_nb.engine import decimals
from stream_nb.engine.comoments import FUNCTIONS as COMOMENTS
from stream_nb.engine.comoments import comoments
from stream_nb.engine.dense_groups import dense_aggregate
from stream_nb.engine.reductions import OPERATIONS as REDUCED
from stream_nb.engine.reductions import reduced
from stream_nb.engine.windowing import windows
from stream_nb.sql.aggregates import Partial

PARALLEL_ROWS = 65_536  # below this, Arrow's threads cost more than they save (measured on two cores)

_VALID = pc.CountOptions(mode="only_valid")
_POPULATION = pc.VarianceOptions(ddof=0)
_BIASED = pc.SkewOptions(biased=True)  # the population forms: g1 = m3 / m2^1.5, g2 = m4 / m2^2 - 3
_ARROW = {  # partial function -> (Arrow hash aggregate, options)
    "sum": ("sum", None),
    "sum_double": ("sum", None),
    "min": ("min", None),
    "max": ("max", None),
    "mean": ("mean", None),
    "first": ("first", pc.ScalarAggregateOptions(skip_nulls=False)),
    "last": ("last", pc.ScalarAggregateOptions(skip_nulls=False)),
    "first_nonnull": ("first", pc.ScalarAggregateOptions(skip_nulls=True)),
    "last_nonnull": ("last", pc.ScalarAggregateOptions(skip_nulls=True)),
    "list": ("list", None),      # nulls dropped after (``_without_nulls``): Arrow's list keeps them
    "set": ("distinct", _VALID),
}
_BY = ("max_by_ord", "max_by_value", "min_by_ord", "min_by_value")  # max_by / min_by over a {v, o} pair
# Arrow has these only as hash aggregates (a global one needs a key): the co-moments and the reductions read each
# group's rows as a list of their positions
_GROUPED_ONLY = ("list", "set", *_BY, *COMOMENTS, *REDUCED)


def partial_aggregates(pre: pa.Table, keys: list[str], partials: list[Partial],
                       window: tuple[str, int] | tuple[str, int, int] | None = None, *, parallel: bool = False,
                       encoded: bool = False) -> pa.Table:
    """One row per key of ``pre`` (one row in all for a global aggregate): the keys, the number of rows
    (``__rows``), then each partial. ``window``, (key, size in µs[, slide in µs]), names a window key that holds
    each row's window start in ``pre`` (``windowing.window_starts``): grouped by it, it comes out as
    ``{start, end}``; with the slide, its starts are known to be a slide apart (``dense_groups``).
    ``parallel``: a big batch may use every core (when no other thread of the query is busy meanwhile).
    ``encoded``: a dictionary-encoded key (``encoded_keys``) comes out dictionary-encoded too, its groups'
    indices into one dictionary (``key_hashes`` hashes each value of it once; ``decoded`` makes it strings).

    >>> from stream_nb.sql.aggregates import Partial
    >>> pre = pa.table({"__k0": ["a", "b", "a"], "__x0": [1.0, 2.0, None]})
    >>> partial_aggregates(pre, ["__k0"], [Partial("s", "sum", "__x0", "add")]).to_pylist()
    [{'__k0': 'a', '__rows': 2, 's': 1.0}, {'__k0': 'b', '__rows': 1, 's': 2.0}]
    """
    pre = _with_by_ranks(_with_row_positions(_with_double_arguments(pre, partials), partials), partials)
    by_sums = _nan_checked_by_sums(pre, partials)
    table = _aggregate(_with_nan_flags(pre, partials, by_sums), keys, partials, window, parallel, encoded)
    if by_sums and not all(_finite(table.column(total)) for total in by_sums.values()):  # a NaN, an infinity
        table = _aggregate(_with_nan_flags(pre, partials), keys, partials, window, parallel, encoded)  # or overflow
    return table


def _aggregate(pre: pa.Table, keys: list[str], partials: list[Partial], window, parallel: bool,
               encoded: bool) -> pa.Table:
    """``partial_aggregates`` over ``pre`` with its helper columns (double copies, NaN flags, row positions)."""
    requests: list[tuple] = []
    asked: dict[tuple, int] = {}

    def ask(argument, function: str, options=None) -> int:
        """The index of this aggregate among the requests; one request however many partials need it.
        Options are this module's constants, so one options object is one request's (not its repr: an
        options object's repr costs more than the rest of this function)."""
        request = (argument, function, options) if options is not None else (argument, function)
        key = (tuple(argument) if isinstance(argument, list) else argument, function, id(options))
        if key not in asked:
            asked[key] = len(requests)
            requests.append(request)
        return asked[key]

    def count(argument) -> int:
        """count(x): over a column without nulls in this batch, every row counts, which Arrow has counted
        already (an aggregate less: a pass over the batch's groups less)."""
        if pre.column(argument).null_count == 0:
            return ask([], "count_all")
        return ask(argument, "count", _VALID)

    # Always count the rows: with no other request (count(DISTINCT) alone) Arrow would give no group at all.
    wanted = [ask([], "count_all")]
    outputs = []
    for partial in partials:
        if partial.function == "distinct":
            continue
        if partial.function == "m2":
            argument = _argument(partial, pre)
            wanted.append(("m2", ask(argument, "variance", _POPULATION), count(argument)))
        elif partial.function in ("m3", "m4"):
            argument = _argument(partial, pre)
            shape = ask(argument, "skew" if partial.function == "m3" else "kurtosis", _BIASED)
            wanted.append((partial.function, shape, ask(argument, "variance", _POPULATION), count(argument)))
        elif partial.function == "count":
            wanted.append(count(_argument(partial, pre)))
        elif partial.function == "max" and _nan_flag(partial.argument) in pre.column_names:
            wanted.append(("nan_max", ask(partial.argument, "max"), ask(_nan_flag(partial.argument), "any")))
        elif partial.function == "count_all":
            wanted.append(ask([], "count_all"))
        elif partial.function in _BY:
            # the group's row of the largest (smallest) rank: its ord and value (``_with_by_ranks``)
            rank, _ = _by_rank(partial)
            field = "o" if partial.function.endswith("_ord") else "v"
            wanted.append(("by", ask(rank, "max" if partial.function.startswith("max") else "min"),
                           partial.argument, field, f"{rank}_rows"))
        elif partial.function == "list" and pa.types.is_nested(pre.schema.field(partial.argument).type):
            # Arrow lists numbers and strings, not structs or arrays: list each group's rows, then take them
            wanted.append(("list_rows", ask(_ROW, "list"), partial.argument))
        elif partial.function == "list":
            wanted.append(("list", ask(partial.argument, "list")))
        elif partial.function in COMOMENTS:  # each group's rows, for two passes over them (``comoments``)
            wanted.append(("co", ask(_ROW, "list"), partial.argument, partial.function))
        elif partial.function in REDUCED:  # each group's rows, for numpy to reduce (``reductions``)
            wanted.append(("reduced", ask(_ROW, "list"), partial.argument, partial.function))
        elif partial.function in ("sum", "sum_double") and _is_decimal(pre, partial.argument):
            # Spark sums decimal(p, s) as decimal(p + 10, s), exactly (Arrow gives decimal(38, s))
            total_type = decimals.sum_type(pre.schema.field(partial.argument).type)
            wanted.append(("decimal_sum", ask(partial.argument, "sum"), total_type))
        elif partial.function.startswith(("first", "last")) and not _has_first_last(pre, partial.argument):
            # Arrow's first/last take no decimals (nor nested types): find the row, then take its value
            rows = _valid_rows(partial.argument) if partial.function.endswith("_nonnull") else _ROW
            wanted.append(("take", ask(rows, "min" if partial.function.startswith("first") else "max"),
                           partial.argument))
        else:
            function, options = _ARROW[partial.function]
            wanted.append(ask(_argument(partial, pre), function, options))
        outputs.append(partial)
    flat, group_by, dictionaries = _flatten_keys(pre, keys)
    ordered = any(p.function.startswith(("first", "last")) or p.function == "list" for p in partials)
    grouped_only = any(p.function in _GROUPED_ONLY for p in partials)
    if (ordered or grouped_only) and not group_by and flat.num_rows:
        # Arrow's aggregate without keys ignores first/last's skip_nulls=False (it skips nulls): one group
        flat, group_by = flat.append_column("__global", pa.repeat(0, flat.num_rows)), ["__global"]
    # Arrow aggregates the chunks of a table on its threads, in no set order: for a big batch, when no
    # partial needs arrival order (first, last), cut it into a chunk per core (slices: no copy). Otherwise
    # one thread: for a small batch threads cost more than they give, and beside another busy thread of
    # the query (the look-ahead, the files source's read-ahead) they only take its core.
    threads = parallel and not ordered and flat.num_rows >= PARALLEL_ROWS and pa.cpu_count() > 1
    if threads:
        step = -(-flat.num_rows // pa.cpu_count())
        flat = pa.concat_tables([flat.slice(offset, step) for offset in range(0, flat.num_rows, step)])
    steps = {window[0]: window[2]} if window is not None and len(window) > 2 else {}
    grouped = None if threads else dense_aggregate(flat, group_by, requests, steps, _VALID)
    if grouped is None and not group_by and grouped_only:  # an empty batch, global: one row, as without them
        grouped = _empty_global(flat, requests)
    if grouped is None:
        grouped = flat.group_by(group_by, use_threads=threads).aggregate(requests)
    # Arrow names results after their inputs (x_sum, ...): take them in request order, name them after the partials.
    results = [column for name, column in zip(grouped.column_names, grouped.columns) if name not in group_by]
    columns = _key_columns(grouped, pre, keys, window, dictionaries, encoded)
    co: dict[str, dict[str, pa.Array]] = {}  # pair argument -> its co-moments per group
    for index in wanted:
        if not isinstance(index, tuple):
            columns.append(results[index])
        elif index[0] == "m2":  # m2 = variance * count
            variance, count = results[index[1]], results[index[2]]
            columns.append(pc.fill_null(pc.multiply(variance, pc.cast(count, pa.float64())), 0.0))
        elif index[0] in ("m3", "m4"):
            columns.append(_higher_moment(index[0], *(results[i] for i in index[1:])))
        elif index[0] == "decimal_sum":
            columns.append(decimals.fit(results[index[1]], index[2]))
        elif index[0] == "take":
            columns.append(pre.column(index[2]).take(results[index[1]]))
        elif index[0] == "by":
            rows = pc.take(pre.column(index[4]), results[index[1]])  # the rank's row (null: no ord in the group)
            columns.append(pc.struct_field(pre.column(index[2]), index[3]).take(rows))
        elif index[0] == "list":
            columns.append(_without_nulls(results[index[1]]))
        elif index[0] == "list_rows":
            columns.append(_without_nulls(_taken_lists(results[index[1]], pre.column(index[2]))))
        elif index[0] == "reduced":
            columns.append(reduced(index[3], pre.column(index[2]), results[index[1]]))
        elif index[0] == "co":
            if index[2] not in co:
                co[index[2]] = comoments(pre.column(index[2]), results[index[1]])
            columns.append(co[index[2]][index[3]])
        else:  # Arrow's max skips NaN; in Spark NaN is the largest double
            maximum, has_nan = results[index[1]], pc.fill_null(results[index[2]], False)
            columns.append(pc.if_else(has_nan, pa.scalar(float("nan"), maximum.type), maximum))
    return pa.Table.from_arrays(columns, names=keys + ["__rows"] + [p.name for p in outputs])


def _higher_moment(which: str, shape, variance, count) -> pa.Array:
    """M3 (M4), the sum of cubed (fourth-power) deviations from the mean, from Arrow's population skew g1
    (kurtosis g2), variance and count: M3 = g1 * M2^1.5 / sqrt(n), M4 = (g2 + 3) * M2^2 / n, with M2 = variance
    * n. A group of one value, or of equal values, has M2 = 0 and so M3 = M4 = 0 (Arrow's shape is NaN there);
    no value: 0 too. A NaN among the values stays NaN, as in Spark."""
    def numbers(column) -> np.ndarray:
        return pc.fill_null(pc.cast(column, pa.float64()), 0.0).to_numpy()
    g, n = numbers(shape), numbers(count)
    m2 = numbers(variance) * n
    safe_n = np.where(n > 0, n, 1.0)
    with np.errstate(invalid="ignore"):
        moment = g * m2 ** 1.5 / np.sqrt(safe_n) if which == "m3" else (g + 3.0) * m2 * m2 / safe_n
    return pa.array(np.where((n > 0) & (m2 != 0), moment, 0.0), pa.float64())


def distinct_pairs(pre: pa.Table, keys: list[str], argument: str,
                   window: tuple[str, int] | None = None) -> pa.Table:
    """The batch's distinct (key..., value) pairs with a non-null value, for count(DISTINCT value)."""
    valid = pre.filter(pc.is_valid(pre.column(argument)))
    flat, group_by, dictionaries = _flatten_keys(valid, [*keys, argument])
    grouped = flat.group_by(group_by, use_threads=False).aggregate([])
    columns = _key_columns(grouped, valid, [*keys, argument], window, dictionaries)
    return pa.Table.from_arrays(columns, names=[*keys, argument])


def _flatten_keys(table: pa.Table, keys: list[str]) -> tuple[pa.Table, list[str], dict[str, pa.Array]]:
    """Arrow groups by plain columns only: a struct key is grouped by its fields, a dictionary-encoded key
    (``encoded_keys``) by its indices into one dictionary of its chunks' values (returned by key name)."""
    group_by, dictionaries = [], {}
    for key in keys:
        column = table.column(key)
        if pa.types.is_dictionary(column.type):
            column, dictionary = _indices(column)
            table = table.set_column(table.schema.get_field_index(key), key, column)
            if dictionary is not None:
                dictionaries[key] = dictionary
        if pa.types.is_floating(column.type):  # -0.0 groups with 0.0, as in Spark
            table = table.set_column(table.schema.get_field_index(key), key, _zero_sign(column))
        fixed = _fixed_width(column)
        if fixed is not None:
            table = table.set_column(table.schema.get_field_index(key), key, fixed)
        if pa.types.is_struct(column.type):
            for field in column.type:
                name = f"{key}.{field.name}"
                values = pc.struct_field(column, field.name)
                if pa.types.is_floating(field.type):
                    values = _zero_sign(values)
                table = table.append_column(name, values)
                group_by.append(name)
            if column.null_count:  # a NULL struct is a group of its own, not the one of a struct of NULLs
                table = table.append_column(f"{key}.{_STRUCT_VALID}", pc.is_valid(column))
                group_by.append(f"{key}.{_STRUCT_VALID}")
        else:
            group_by.append(key)
    return table, group_by, dictionaries


FIXED_WIDTH_ROWS = 8_192  # below this, telling a string key's width costs about what its grouping would save
_STRUCT_VALID = "\x00valid"   # beside a struct key's fields: whether the struct itself is there (no field name)
_VARIABLE_WIDTH = (pa.string(), pa.binary(), pa.large_string(), pa.large_binary())


def _fixed_width(column: pa.ChunkedArray) -> pa.ChunkedArray | None:
    """A string key whose values all have one width (ids, codes: ``d0042``) and no null, as the same bytes
    typed ``fixed_size_binary``, a view of its data buffer: Arrow's grouping compares fixed-width keys without
    their offsets (200 k rows over 1,000 keys of 5 bytes, count, sum and max: 3.5 -> 2.9 ms of CPU), and equal
    bytes are equal strings. ``_key_columns`` gives the grouped keys their type back. None for any other column.
    """
    if column.type not in _VARIABLE_WIDTH or column.null_count or len(column) < FIXED_WIDTH_ROWS:
        return None
    chunks, width = [], None
    for chunk in column.chunks:
        if not len(chunk):
            continue
        offset_type = np.int64 if chunk.type in (pa.large_string(), pa.large_binary()) else np.int32
        offsets = np.frombuffer(chunk.buffers()[1], offset_type, len(chunk) + 1, chunk.offset * offset_type().itemsize)
        first, size = int(offsets[0]), int(offsets[-1] - offsets[0])
        width = width if width is not None else size // len(chunk)
        # the ends say whether it can be (one comparison), every value's length then whether it is
        if not width or size != width * len(chunk) or (np.diff(offsets) != width).any():
            return None
        data = chunk.buffers()[2].slice(first, size)
        chunks.append(pa.Array.from_buffers(pa.binary(width), len(chunk), [None, data]))
    return pa.chunked_array(chunks, pa.binary(width)) if chunks else None


def _variable_width(column: pa.ChunkedArray, kind: pa.DataType) -> pa.Array:
    """Grouped ``_fixed_width`` keys as ``kind`` again: the same bytes, with offsets a width apart."""
    array = column.combine_chunks()
    width = array.type.byte_width
    offsets = np.arange(len(array) + 1, dtype=np.int64 if kind in (pa.large_string(), pa.large_binary()) else np.int32)
    offsets *= width
    data = array.buffers()[1].slice(array.offset * width, len(array) * width)
    return pa.Array.from_buffers(kind, len(array), [None, pa.py_buffer(offsets), data])


def _indices(column: pa.ChunkedArray) -> tuple[pa.ChunkedArray, pa.Array | None]:
    """A dictionary column's indices into one dictionary (its chunks' unified: each file or row group has its
    own, so equal strings meet under one index) and that dictionary; or the column's values, and None, when
    the dictionary repeats a value or holds a null (two indices would then be one key)."""
    unified = column.unify_dictionaries() if column.num_chunks > 1 else column
    dictionary = unified.chunk(0).dictionary if unified.num_chunks else None
    if dictionary is None or dictionary.null_count or \
            pc.count_distinct(dictionary, mode="all").as_py() != len(dictionary):
        return column.cast(column.type.value_type), None
    return pa.chunked_array([chunk.indices for chunk in unified.chunks], column.type.index_type), dictionary


def encoded_keys(pre: pa.Table, keys: list[str], projection: dict[str, str] | None,
                 encoded: dict[str, pa.ChunkedArray]) -> pa.Table:
    """``pre`` with each key column that only picks a batch column the source also gave dictionary-encoded
    (``encoded``, by batch column: the same rows) swapped for that encoding: grouped by small integers,
    decoded back for the distinct keys alone (``_key_columns``). Arguments keep the strings."""
    if projection is None:  # pre ran SQL over the batch: its rows are not the batch's
        return pre
    for key in keys:
        if projection.get(key) in encoded:
            pre = pre.set_column(pre.schema.get_field_index(key), key, encoded[projection[key]])
    return pre


def decoded(table: pa.Table) -> pa.Table:
    """``table`` with its dictionary-encoded columns (``encoded_keys``) as their values' type."""
    for index, field in enumerate(table.schema):
        if pa.types.is_dictionary(field.type):
            table = table.set_column(index, field.name, table.column(index).cast(field.type.value_type))
    return table


def _zero_sign(values: pa.ChunkedArray | pa.Array) -> pa.ChunkedArray | pa.Array:
    """-0.0 as 0.0 (IEEE: -0.0 + 0.0 is 0.0); every other value, NaN and null as they are."""
    return pc.add(values, pa.scalar(0.0, values.type))


def _key_columns(grouped: pa.Table, table: pa.Table, keys: list[str], window: tuple[str, int] | None = None,
                 dictionaries: dict[str, pa.Array] | None = None, encoded: bool = False) -> list[pa.Array]:
    """The key columns of a grouped table, with struct keys put back together from their fields, a window
    key's starts made windows and a dictionary key's indices its values (``_flatten_keys``; ``encoded``:
    the indices with their dictionary)."""
    columns = []
    for key in keys:
        key_type = table.schema.field(key).type
        if dictionaries and key in dictionaries and encoded:
            indices = grouped.column(key).combine_chunks()
            columns.append(pa.DictionaryArray.from_arrays(indices, dictionaries[key]))
        elif dictionaries and key in dictionaries:
            columns.append(dictionaries[key].take(grouped.column(key)))
        elif pa.types.is_dictionary(key_type):  # grouped by its values (``_indices``), maybe as fixed-width bytes
            column, values = grouped.column(key), key_type.value_type
            fixed = column.type != values and values in _VARIABLE_WIDTH
            columns.append(_variable_width(column, values) if fixed else column)
        elif window is not None and key == window[0]:
            columns.append(windows(grouped.column(key), window[1]))
        elif pa.types.is_struct(key_type):
            fields = [grouped.column(f"{key}.{f.name}").combine_chunks() for f in key_type]
            valid = f"{key}.{_STRUCT_VALID}"
            mask = pc.invert(grouped.column(valid).combine_chunks()) if valid in grouped.column_names else None
            columns.append(pa.StructArray.from_arrays(fields, fields=list(key_type), mask=mask))
        elif grouped.schema.field(key).type != key_type and key_type in _VARIABLE_WIDTH:  # (``_fixed_width``)
            columns.append(_variable_width(grouped.column(key), key_type))
        else:
            columns.append(grouped.column(key))
    return columns


def _is_decimal(pre: pa.Table, argument: str) -> bool:
    return pa.types.is_decimal(pre.schema.field(argument).type)


def _argument(partial: Partial, pre: pa.Table) -> str:
    double = f"{partial.argument}__double"
    if partial.function not in _IN_DOUBLES or double not in pre.column_names:
        return partial.argument
    exact = partial.function == "sum_double" and _is_decimal(pre, partial.argument)  # avg of decimals
    return partial.argument if exact else double


_IN_DOUBLES = ("sum_double", "mean", "m2", "m3", "m4")  # avg's sum, the moments of stddev, variance, skewness...


def _with_double_arguments(pre: pa.Table, partials: list[Partial]) -> pa.Table:
    """avg sums in double precision, as Spark does, and stddev and variance work in doubles: add a double
    copy of each argument that is not double already. The cast is Spark's too: a long beyond 2^53 becomes
    the nearest double, not an error. avg sums a decimal as a decimal (Spark's avg of decimals is exact)."""
    moments = {p.argument for p in partials if p.function in ("mean", "m2", "m3", "m4")}
    for argument in sorted({p.argument for p in partials if p.function in _IN_DOUBLES}):
        kind = pre.schema.field(argument).type
        if kind != pa.float64() and (argument in moments or not pa.types.is_decimal(kind)):
            double = pc.cast(pre.column(argument), pa.float64(), safe=False)
            pre = pre.append_column(f"{argument}__double", double)
    return pre


_ROW = "__row"  # each row's position in the batch: first and last by position, for types Arrow's lack


def _has_first_last(pre: pa.Table, argument: str) -> bool:
    kind = pre.schema.field(argument).type
    return not (pa.types.is_decimal(kind) or pa.types.is_nested(kind))


def _valid_rows(argument: str) -> str:
    return f"{argument}__valid_row"


def _with_row_positions(pre: pa.Table, partials: list[Partial]) -> pa.Table:
    """For first and last over a type Arrow's first/last lack: each row's position (``_ROW``), and for the
    forms that ignore nulls, the position only where the argument is not null. The co-moments, the reductions
    (bit_and, ..., product) and collect_list of structs or arrays list each group's rows by position too."""
    ordered = [p for p in partials
               if p.function.startswith(("first", "last")) and not _has_first_last(pre, p.argument)]
    listed = any(p.function in COMOMENTS or p.function in REDUCED or (p.function == "list" and _is_nested(
        pre, p.argument)) for p in partials)
    if not ordered and not listed:
        return pre
    positions = pa.array(np.arange(pre.num_rows, dtype=np.int64))
    pre = pre.append_column(_ROW, positions)
    for argument in sorted({p.argument for p in ordered if p.function.endswith("_nonnull")}):
        valid = pre.column(argument).is_valid()
        pre = pre.append_column(_valid_rows(argument), pc.if_else(valid, positions, pa.scalar(None, pa.int64())))
    return pre


def _by_rank(partial: Partial) -> tuple[str, bool]:
    """max_by/min_by's rank column for this partial, and whether ties rank the later row higher."""
    later_high = partial.function.startswith("max")
    return f"{partial.argument}__{'max' if later_high else 'min'}_rank", later_high


def _with_by_ranks(pre: pa.Table, partials: list[Partial]) -> pa.Table:
    """For max_by/min_by: each row's rank among the batch's rows by (ord, position) (a NULL ord has none), so
    the group's largest rank is max_by's row (the largest ord; on a tie the later row, as Spark's MaxBy takes
    the new pair unless the kept ord is greater), the smallest min_by's (the smallest ord, on a tie the later
    row). Arrow sorts NaN above every other number, as Spark orders it. Beside each rank column, its rows in
    rank order (``<rank>_rows``): the row of rank r is at position r."""
    wanted = {_by_rank(p): p.argument for p in partials if p.function in _BY}
    positions = np.arange(pre.num_rows, dtype=np.int64)
    for (rank, later_high), argument in sorted(wanted.items()):
        ordering = pc.struct_field(pre.column(argument), "o")
        table = pa.table({"o": ordering, "row": positions})
        order = pc.sort_indices(table, [("o", "ascending"), ("row", "ascending" if later_high else "descending")]
                                ).to_numpy()  # (where a NULL ord goes does not matter: it gets no rank)
        ranks = np.empty(pre.num_rows, dtype=np.int64)
        ranks[order] = positions
        pre = pre.append_column(rank, pc.if_else(ordering.is_valid(), pa.array(ranks), pa.scalar(None, pa.int64())))
        pre = pre.append_column(f"{rank}_rows", pa.array(order, pa.int64()))
    return pre


def _empty_global(flat: pa.Table, requests: list[tuple]) -> pa.Table:
    """A global aggregate of no rows: one row, as Arrow's scalar aggregates give, with an empty list for
    collect_list's and collect_set's requests (Arrow has those only as hash aggregates)."""
    lists = {i for i, r in enumerate(requests) if r[1] in ("list", "distinct")}
    scalar = [([], "count_all") if i in lists else r for i, r in enumerate(requests)]
    table = flat.group_by([], use_threads=False).aggregate(scalar)
    for i in sorted(lists):
        kind = pa.list_(flat.schema.field(requests[i][0]).type)
        table = table.set_column(i, table.column_names[i], pa.array([[]], kind))
    return table


def _is_nested(pre: pa.Table, argument: str) -> bool:
    return pa.types.is_nested(pre.schema.field(argument).type)


def _taken_lists(rows: pa.ChunkedArray | pa.Array, values: pa.ChunkedArray) -> pa.Array:
    """Each group's list of row positions (``hash_list`` of ``_ROW``) as the list of those rows' ``values``."""
    rows = rows.combine_chunks() if isinstance(rows, pa.ChunkedArray) else rows
    taken = values.take(pc.list_flatten(rows)).combine_chunks()
    offsets = pc.subtract(rows.offsets, rows.offsets[0]) if len(rows) else pa.array([0], pa.int32())
    return pa.ListArray.from_arrays(offsets, taken, type=pa.list_(values.type))


def _without_nulls(lists: pa.ChunkedArray | pa.Array) -> pa.Array:
    """Each list without its null elements (collect_list skips NULL, as Spark's does; NaN stays)."""
    lists = lists.combine_chunks() if isinstance(lists, pa.ChunkedArray) else lists
    values = pc.list_flatten(lists)
    if not values.null_count:
        return lists
    parents = pc.list_parent_indices(lists).to_numpy()
    valid = values.is_valid().to_numpy(zero_copy_only=False)
    counts = np.bincount(parents[valid], minlength=len(lists))
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)
    return pa.ListArray.from_arrays(pa.array(offsets), values.filter(pa.array(valid)), type=lists.type)


def _nan_flag(argument: str) -> str:
    return f"{argument}__nan"


def _nan_checked_by_sums(pre: pa.Table, partials: list[Partial]) -> dict[str, str]:
    """The max arguments (double columns) that the batch's grouping also sums (avg(x) beside max(x)), each with
    that sum's partial: a NaN makes its group's sum NaN, so finite group sums say the column held none, found
    from the few grouped values instead of a pass over the batch's (``_with_nan_flags``)."""
    sums = {p.argument: p.name for p in partials
            if p.function in ("sum", "sum_double") and pre.schema.field(p.argument).type == pa.float64()}
    return {p.argument: sums[p.argument] for p in partials if p.function == "max" and p.argument in sums}


def _finite(totals: pa.ChunkedArray) -> bool:
    """Whether every value is finite (nulls aside), from their sum: NaN or an infinity makes it NaN or infinite
    (and so does an overflow of finite ones, which only sends the caller the longer way)."""
    total = pc.sum(totals).as_py()
    return total is None or math.isfinite(total)


def _with_nan_flags(pre: pa.Table, partials: list[Partial], checked: dict[str, str] | None = None) -> pa.Table:
    """For max over a float column, whether each row is NaN: Arrow's max ignores NaN, Spark's max is NaN
    if any value is (NaN is larger than any other double there). Arrow's min already is Spark's: NaN only
    when every value is. ``checked``: arguments left out, whose grouped sums will say whether they held NaN."""
    for argument in sorted({p.argument for p in partials if p.function == "max"} - set(checked or ())):
        column = pre.column(argument)
        if pa.types.is_floating(column.type) and _may_hold_nan(column):
            nan = pc.is_nan(column)
            if pc.any(nan).as_py():  # only then: a batch without NaN needs no second aggregate
                pre = pre.append_column(_nan_flag(argument), nan)
    return pre


def _may_hold_nan(column: pa.ChunkedArray) -> bool:
    """False when the column surely holds no NaN: its sum is finite (a NaN makes any sum NaN), from one pass
    that writes nothing, where a NaN mask is written first and then read (200 k rows: 0.05 ms against 0.14)."""
    if column.type not in (pa.float64(), pa.float32()):
        return True
    total = pc.sum(column).as_py()
    return total is not None and not math.isfinite(total)


def first_rows(table: pa.Table, keys: list[str]) -> pa.Table:
    """The first row of each key, in arrival order (dropDuplicates within one batch)."""
    numbered = table.append_column("__i", pa.array(np.arange(table.num_rows, dtype=np.int64)))  # (not a range: slow)
    flat, group_by, _ = _flatten_keys(numbered, keys)
    firsts = flat.group_by(group_by, use_threads=False).aggregate([("__i", "min")]).column("__i_min")
    return table.take(pc.take(firsts, pc.sort_indices(firsts)))
