"""Spark's JSON functions, run by DuckDB with Spark's non-ANSI (PERMISSIVE) answers, tree in, tree out.

sqlglot writes ``from_json(s, 'a INT, b STRING')`` for DuckDB as DuckDB's ``from_json``, which reads the DDL as
a JSON structure and fails; and DuckDB's ``->>`` raises on a malformed document where Spark gives NULL. Each
call is rewritten into DuckDB's JSON functions (vectorised, no Python per row):

* ``from_json(s, ddl)``: a struct of the DDL's fields; NULL for a NULL or empty ``s``, a struct of NULLs for a
  malformed document or one that is not an object; a field missing, JSON null, or of the wrong JSON type (a
  string for an INT, 3.7 or 2147483648 for an INT) is NULL, the other fields keep their values; a STRING field
  holds any JSON value as its text (``5`` -> ``'5'``, an object minified); a DATE or TIMESTAMP field reads a
  JSON string in the forms a cast reads (``spark_dates``); a STRUCT field is read as the top level is, an
  ARRAY field is NULL when one of its elements does not read; names match case-sensitively; a MAP field (string
  keys) holds an object's members, NULL when one of its values does not read (as an ARRAY); a MAP schema reads a
  JSON object so;
* ``get_json_object(s, path)``: the value as text (a string unquoted), NULL when missing, JSON null or
  malformed;
* ``to_json(struct)``: the struct's JSON without its NULL fields (Spark's ``ignoreNullFields``), NULL for NULL;
* ``json_tuple(s, 'k1', 'k2', ...)``, as a select item: columns ``c0``, ``c1``, ... (or ``AS (x, y)``) as
  ``get_json_object``;
* ``j.*`` of a struct column ``j`` (``from_json``'s): its fields as columns.

Each expected value in ``tests/sql/test_json_functions.py`` is what PySpark 4.3 returns.
"""

from __future__ import annotations

import sqlglot
from sqlglot import exp

from stream_nb.sql.errors import StreamSQLError
from stream_nb.sql.positions import start_of
from stream_nb.sql.spark_dates import spark_date_strings
from stream_nb.sql.tree import bottom_up

T = exp.DataType.Type
_INTEGERS = {T.TINYINT, T.SMALLINT, T.INT, T.BIGINT}
_NUMBERS = {T.FLOAT, T.DOUBLE, T.DECIMAL}
_TIMES = {T.DATE, T.TIMESTAMP, T.TIMESTAMPTZ, T.TIMESTAMPLTZ}
_JSON_INTEGER = "json_type({v}) IN ('BIGINT', 'UBIGINT')"
_JSON_NUMBER = "json_type({v}) IN ('BIGINT', 'UBIGINT', 'DOUBLE')"


def json_functions(tree: exp.Expression, sql: str = "") -> exp.Expression:
    """All four functions, rewritten where they are.

    >>> import sqlglot
    >>> tree = sqlglot.parse_one("SELECT get_json_object(s, '$.a') FROM t", read="spark")
    >>> json_functions(tree).sql("duckdb")
    "SELECT JSON_EXTRACT_STRING(CASE WHEN JSON_VALID(s) THEN s END, '$.a') FROM t"
    """
    for select in list(tree.find_all(exp.Select)):
        _json_tuples(select)
    for node in bottom_up(tree, exp.FromJson, exp.JSONExtractScalar, exp.JSONFormat, exp.Anonymous):
        if isinstance(node, exp.FromJson):
            if not _duckdb_structure(node.expression):
                _replace(node, _from_json(node.this, node.expression, sql))
        elif isinstance(node, exp.JSONExtractScalar):
            _replace(node, _get_json_object(node.this, node.expression))
        elif isinstance(node, exp.JSONFormat):
            _replace(node, _to_json(node.this))
        elif node.name.lower() == "get_json_object" and len(node.expressions) == 2:
            _replace(node, _get_json_object(*node.expressions))
    for star in list(tree.find_all(exp.Dot)):
        if isinstance(star.expression, exp.Star) and isinstance(star.this, exp.Column) and \
                isinstance(star.parent, exp.Select):
            # ``j.*`` of a struct column: DuckDB's unnest() of a struct is its fields as columns
            star.replace(exp.Anonymous(this="unnest", expressions=[star.this.copy()]))
    return tree


def _replace(node: exp.Expression, new: exp.Expression) -> None:
    new.type = node.type
    node.replace(new)


def _duck(template: str, **parts: exp.Expression) -> exp.Expression:
    """DuckDB SQL with ``{name}`` standing for the expressions given (each put in as a copy)."""
    return _marked(template.format(**{name: f"__json_{name}__" for name in parts}), **parts)


def _marked(text: str, **parts: exp.Expression) -> exp.Expression:
    """DuckDB SQL with ``__json_<name>__`` standing for the expressions given."""
    tree = sqlglot.parse_one(text, read="duckdb")
    for column in list(tree.find_all(exp.Column)):
        for name, part in parts.items():
            if column.name == f"__json_{name}__" and not column.table:
                column.replace(part.copy())
    return tree


def _document(text: exp.Expression) -> exp.Expression:
    """The text when it is a JSON document, else NULL: DuckDB's JSON functions raise on malformed text."""
    return _duck("CASE WHEN json_valid({s}) THEN {s} END", s=text)


def _get_json_object(text: exp.Expression, path: exp.Expression) -> exp.Expression:
    call = exp.Anonymous(this="json_extract_string", expressions=[_document(text), _path_literal(path)])
    return call


def _path_literal(path: exp.Expression) -> exp.Expression:
    if isinstance(path, exp.JSONPath):  # sqlglot parsed the literal path; DuckDB reads Spark's '$.a[1].b'
        return exp.Literal.string(path.sql("duckdb").strip("'"))
    return path.copy()


def _to_json(struct: exp.Expression) -> exp.Expression:
    # RFC 7396's merge patch onto {} drops the keys whose value is null, nested objects' included, as Spark
    # does; arrays keep their nulls in both. Times are written as Spark writes them (``_json_times``).
    x = "__json_x__"  # _duck's marker, written in: the text holds braces of its own (struct literals)
    value = (_json_times(x, struct.type) if struct.type is not None else None) or x
    return _marked(f"CASE WHEN {x} IS NOT NULL THEN CAST(json_merge_patch('{{}}', to_json({value})) AS VARCHAR) END",
                   x=struct)


def _json_times(value: str, kind: exp.DataType) -> str | None:
    """DuckDB SQL of ``value`` (SQL text of type ``kind``) with each timestamp in it as the text Spark's JSON
    holds, ``2024-01-01T01:02:03.450Z`` (a timestamp_ntz without the ``Z``; DuckDB's would be
    ``2024-01-01 01:02:03.45+00``), through structs and arrays; None when it holds no timestamp."""
    if kind.this in (T.TIMESTAMPTZ, T.TIMESTAMPLTZ, T.TIMESTAMP, T.TIMESTAMPNTZ):
        zone = "" if kind.this == T.TIMESTAMPNTZ else "Z"  # (what to_timestamp gives is typed TIMESTAMP: Spark's)
        return f"strftime({value}, '%Y-%m-%dT%H:%M:%S.%g{zone}')"
    if kind.this == T.ARRAY and kind.expressions:
        element = _json_times("__e", kind.expressions[0])
        return None if element is None else f"list_transform({value}, __e -> {element})"
    if kind.this != T.STRUCT or not kind.expressions:
        return None
    fields = [(f.name, f.args.get("kind")) for f in kind.expressions]
    if any(not name or field is None for name, field in fields):
        return None
    read = {name: f"struct_extract({value}, '{name.replace(chr(39), chr(39) * 2)}')" for name, _ in fields}
    times = {name: _json_times(read[name], field) for name, field in fields}
    if all(text is None for text in times.values()):
        return None
    items = ", ".join(f"'{name.replace(chr(39), chr(39) * 2)}': {times[name] or read[name]}" for name, _ in fields)
    return f"CASE WHEN {value} IS NOT NULL THEN {{{items}}} END"


def _duckdb_structure(schema: exp.Expression) -> bool:
    """A JSON structure of DuckDB type names (``{"a":"INTEGER"}``): stream_nb.pyspark's ``F.from_json`` writes
    its schema so, for DuckDB's own ``from_json``; it is left to it."""
    return isinstance(schema, exp.Literal) and schema.is_string and schema.name.lstrip().startswith("{")


def from_json_schema(ddl: exp.Expression, sql: str) -> exp.DataType:
    """from_json's schema: a struct (``'a INT, b STRING'`` or ``'struct<...>'``) or an array (``'array<...>'``)."""
    if not (isinstance(ddl, exp.Literal) and ddl.is_string):
        raise StreamSQLError("from_json's schema must be a DDL string literal, such as 'a INT, b STRING'",
                             sql=sql or None, start=start_of(ddl, sql))
    text = ddl.name.strip()
    array = text.lower().startswith(("array<", "map<"))
    try:
        kind = exp.DataType.build(text if array or text.lower().startswith("struct<") else f"STRUCT<{text}>",
                                  dialect="spark")
    except Exception:  # noqa: BLE001 -- sqlglot raises several kinds; the message says what is wrong
        kind = None
    empty = kind is not None and any(t.this == T.STRUCT and not t.expressions for t in kind.find_all(exp.DataType))
    if kind is None or kind.this not in ((T.ARRAY, T.MAP) if array else (T.STRUCT,)) or not kind.expressions or \
            empty:
        example = "an array type such as 'array<struct<a: int, b: string>>'" if array else \
            "a DDL list of fields such as 'a INT, b STRING'"
        if empty:  # sqlglot reads struct<select: int> as a struct of no fields
            example += " (a field named by a keyword is quoted: `select`)"
        raise StreamSQLError(f"from_json's schema {ddl.name!r} is not {example}", sql=sql or None,
                             start=start_of(ddl, sql))
    return kind


def _from_json(text: exp.Expression, ddl: exp.Expression, sql: str) -> exp.Expression:
    where = start_of(ddl, sql)
    kind = from_json_schema(ddl, sql)
    if kind.this == T.MAP:  # a JSON object as a map; NULL for malformed or other JSON
        packed = _field(_duck("CASE WHEN json_valid({s}) THEN {s} END", s=text), kind, "", sql, where)
    elif kind.this == T.ARRAY:
        # a JSON array as an array (Spark's from_json with an ArrayType): NULL for malformed or other JSON; for
        # an array of structs, an object alone is an array of one (Spark's root converter takes both)
        if kind.expressions[0].this == T.STRUCT:
            document = _duck("CASE WHEN json_valid({s}) THEN CASE WHEN json_type({s}) = 'OBJECT' "
                             "THEN '[' || {s} || ']' ELSE {s} END END", s=text)
        else:
            document = _duck("CASE WHEN json_valid({s}) THEN {s} END", s=text)
        packed = _field(document, kind, "", sql, where)
    else:
        document = _duck("CASE WHEN json_valid({s}) THEN CASE WHEN json_type({s}) = 'OBJECT' THEN {s} END END",
                         s=text)
        packed = _object_fields(document, kind, sql, where)
    # Spark: NULL for NULL or empty text; a struct (of NULLs when malformed) otherwise
    return _duck("CASE WHEN {s} IS NULL OR trim({s}) = '' THEN NULL ELSE {packed} END", s=text, packed=packed)


def _object_fields(document: exp.Expression, struct: exp.DataType, sql: str, where: int | None) -> exp.Expression:
    """struct_pack of the struct's fields, each read from the object ``document`` by its name."""
    fields = []
    for field in struct.expressions:
        name, kind = field.this.name, field.args["kind"]
        path = exp.Literal.string('$."' + name.replace('"', '\\"') + '"')
        value = exp.Anonymous(this="json_extract", expressions=[document, path])
        fields.append(exp.PropertyEQ(this=exp.to_identifier(name, quoted=True),
                                     expression=_field(value, kind, name, sql, where)))
    return exp.Anonymous(this="struct_pack", expressions=fields)


def _field(value: exp.Expression, kind: exp.DataType, name: str, sql: str, where: int | None) -> exp.Expression:
    """One field's value from its JSON value: NULL unless the JSON type is one Spark's parser takes."""
    duck = kind.sql("duckdb")
    if kind.this in _INTEGERS:
        return _duck(f"CASE WHEN {_JSON_INTEGER} THEN TRY_CAST({{v}} AS {duck}) END", v=value)
    if kind.this in _NUMBERS:
        return _duck(f"CASE WHEN {_JSON_NUMBER} THEN TRY_CAST({{v}} AS {duck}) END", v=value)
    if kind.this == T.BOOLEAN:
        return _duck("CASE WHEN json_type({v}) = 'BOOLEAN' THEN TRY_CAST({v} AS BOOLEAN) END", v=value)
    if kind.this in exp.DataType.TEXT_TYPES:
        return _duck("CASE json_type({v}) WHEN 'VARCHAR' THEN json_extract_string({v}, '$') WHEN 'NULL' THEN NULL "
                     "ELSE CAST({v} AS VARCHAR) END", v=value)
    if kind.this in _TIMES:  # a JSON string in Spark's date or timestamp forms, as a cast reads it
        text = _duck("CASE WHEN json_type({v}) = 'VARCHAR' THEN json_extract_string({v}, '$') END", v=value)
        text.type = exp.DataType.build("VARCHAR")
        holder = exp.Paren(this=exp.Cast(this=text, to=kind.copy()))
        spark_date_strings(holder)
        return holder.this
    if kind.this == T.STRUCT:  # an object's fields, each as a field of the top level is read
        inner = _object_fields(value, kind, sql, where)
        return _duck("CASE WHEN json_type({v}) = 'OBJECT' THEN {inner} END", v=value, inner=inner)
    if kind.this == T.MAP and len(kind.expressions) == 2 and kind.expressions[0].this in exp.DataType.TEXT_TYPES:
        # an object's members as entries; as an array, NULL when one of its (non-null) values does not read
        element = _field(exp.column("value", table="__json_m"), kind.expressions[1], name, sql, where)
        entries = "map_entries(CAST(CAST({v} AS JSON) AS MAP(VARCHAR, JSON)))"
        return _duck(f"CASE WHEN json_type({{v}}) = 'OBJECT' AND NOT coalesce(list_bool_or(list_transform({entries}, "
                     "lambda __json_m: __json_m.value IS NOT NULL AND {element} IS NULL)), false) THEN "
                     f"map_from_entries(list_transform({entries}, lambda __json_m: struct_pack(key := __json_m.key, "
                     "value := {element}))) END", v=value, element=element)
    if kind.this == T.ARRAY and kind.expressions:
        # Spark: the whole array is NULL when one of its (non-null) elements does not read as the element type
        element = _field(exp.column("__json_e"), kind.expressions[0], name, sql, where)
        return _duck("CASE WHEN json_type({v}) = 'ARRAY' AND NOT coalesce(list_bool_or(list_transform("
                     "CAST({v} AS JSON[]), lambda __json_e: json_type(__json_e) <> 'NULL' AND {element} IS NULL)), "
                     "false) THEN list_transform(CAST({v} AS JSON[]), lambda __json_e: {element}) END",
                     v=value, element=element)
    raise StreamSQLError(f"from_json: field {name!r} of type {kind.sql('spark')} is not supported yet "
                         "(numbers, booleans, strings, dates, timestamps, structs and arrays of them are)", sql=sql or None, start=where)


def _json_tuples(select: exp.Select) -> None:
    """``json_tuple(s, 'a', 'b')`` in a SELECT list: one column a key, named c0, c1, ... as Spark names them."""
    items = []
    changed = False
    for item in select.expressions:
        if isinstance(item, exp.Alias) and isinstance(item.this, exp.Aliases):
            item = item.this  # name_select_items named the AS (x, y) item as a whole
        if isinstance(item, exp.Alias) and item.meta.get("spark_name"):
            item = item.this  # an unaliased json_tuple(...): its columns are c0, c1, ...
        call = item.this if isinstance(item, (exp.Alias, exp.Aliases)) else item
        if isinstance(call, exp.Anonymous) and call.name.lower() == "json_tuple" and len(call.expressions) >= 2:
            text, keys = call.expressions[0], call.expressions[1:]
            names = [n.name for n in item.expressions] if isinstance(item, exp.Aliases) else \
                [item.alias] if isinstance(item, exp.Alias) else []  # json_tuple(s, 'a') AS x
            for index, key in enumerate(keys):
                path = exp.Literal.string('$."' + key.name.replace('"', '\\"') + '"') \
                    if isinstance(key, exp.Literal) else exp.Concat(expressions=[exp.Literal.string('$."'),
                                                                                 key.copy(), exp.Literal.string('"')])
                name = names[index] if index < len(names) else f"c{index}"
                items.append(exp.alias_(_get_json_object(text, path), name, quoted=True))
            changed = True
        else:
            items.append(item)
    if changed:
        select.set("expressions", items)
