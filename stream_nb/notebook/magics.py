"""``%%stream`` and ``%stream``: start a query from a cell of SQL and watch it live; control it by name.

Mistakes (an unknown option, a SQL error, an output mode Spark refuses, an unknown name) show one message in
the cell's output, never a traceback.
"""

from __future__ import annotations

import html
import json
import shlex

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments, parse_argstring

import stream_nb as sn
from stream_nb.engine.lifecycle import ACTIONS
from stream_nb.notebook.actions import ActionRefused, perform
from stream_nb.notebook.bokehjs import load_bokehjs, warm_up
from stream_nb.notebook.chart_spec import KINDS, ChartOptionError
from stream_nb.notebook.live import open_view
from stream_nb.notebook.messages import show_error, show_text
from stream_nb.notebook.status import state_of

SUBCOMMANDS = ("list | stop NAME | stop --all | pause NAME | resume NAME | step NAME | explain NAME | "
               "progress NAME")

# Errors that are the user's to fix (the SQL, a schema, an option, a checkpoint that does not fit the query):
# shown as one message. Anything else is a bug and keeps its traceback.
_USER_ERRORS = (sn.StreamSQLError, sn.SchemaError, sn.CheckpointError, ValueError, NotImplementedError)


@magics_class
class StreamMagics(Magics):
    @magic_arguments()
    @argument("name", nargs="?", help="the query's name: bound to the StreamingQuery in the notebook")
    @argument("--mode", "-m", choices=["append", "update", "complete"],
              help="output mode (default: append without aggregation, update with)")
    @argument("--trigger", "-t", metavar="T",
              help="when batches run: '2 seconds', available_now, once, manual (default: as soon as data arrives)")
    @argument("--checkpoint", metavar="DIR", help="checkpoint folder: a restarted kernel resumes from it")
    @argument("--watermark-policy", choices=["min", "max"], default="min",
              help="how the watermarks of several streams combine: min (Spark's default) or max")
    @argument("--engine", choices=["stream_nb", "spark"], default="stream_nb",
              help="run in the kernel (stream_nb, the default) or on Spark Structured Streaming")
    @argument("--master", metavar="URL", help="with --engine spark: local[N], spark://host:port or sc://host:port "
              "(default: the kernel's active SparkSession, else local[*])")
    @argument("--chart", choices=KINDS, help="draw a live chart of the result")
    @argument("--x", metavar="COL", help="the chart's x column (a window's start: w.start)")
    @argument("--y", metavar="COL[,COL]", help="the chart's y column(s), comma separated")
    @argument("--by", metavar="COL", help="one series per value of this column")
    @argument("--table", action="store_true", help="show a table of the latest rows (default without chart)")
    @argument("--rows", type=int, default=10, metavar="N", help="rows the table shows (default 10)")
    @argument("--explain", action="store_true", help="add the teaching view: batch by batch, with a slider")
    @line_cell_magic
    def stream(self, line: str, cell: str | None = None):
        """Run a streaming query from a cell of Spark SQL and watch it live; or control queries by name.

        Cell magic: the cell's body is the SQL. NAME is bound to the StreamingQuery in the notebook, and its
        live view (status, controls, chart and/or table) shows under the cell. Running the cell again stops
        the query of that name and starts the new one (from its checkpoint, when --checkpoint is given)::

            %%stream averages --chart line --x w.start --y avg_temp --by device --table
            SELECT window(ts, '10 seconds') AS w, device, avg(temperature) AS avg_temp
            FROM readings WATERMARK ts DELAY OF INTERVAL 10 SECONDS
            GROUP BY window(ts, '10 seconds'), device

            %%stream hot --mode append --trigger "2 seconds"
            SELECT ts, device, temperature FROM readings WHERE temperature > 25

        Line magic, to control queries by name::

            %stream list                    the active queries
            %stream stop NAME               (or: %stream stop --all)
            %stream pause NAME / resume NAME
            %stream step NAME               run one micro-batch now
            %stream explain NAME            the teaching view: input, late rows, state, output, watermark
            %stream progress NAME           the last progress report (Spark's field names)
        """
        if cell is None:
            return self._line(line)
        return self._cell(line, cell)

    # -- %%stream NAME [options] -----------------------------------------------------------------------

    def _cell(self, line: str, cell: str) -> None:
        try:
            args = parse_argstring(self.stream, line)
        except UsageError as err:
            return show_error(f"{err}\nusage: %%stream NAME [--mode M] [--trigger T] [--checkpoint DIR] "
                              "[--engine stream_nb|spark [--master URL]] "
                              "[--chart line|bar|scatter|area --x COL --y COL[,COL] --by COL] [--table] "
                              "[--rows N] [--explain]   (%%stream? for more)")
        if not args.name or not args.name.isidentifier():
            return show_error(f"%%stream needs a NAME for the query, a Python identifier "
                              f"(got {args.name!r}): %%stream NAME [options], then the SQL in the cell")
        if not cell.strip():
            return show_error(f"%%stream {args.name}: the cell is empty; write the query's SQL below the "
                              "%%stream line")
        self._stop_named(args.name)
        try:
            query = sn.start(cell, name=args.name, output_mode=args.mode, trigger=args.trigger,
                             checkpoint=args.checkpoint, watermark_policy=args.watermark_policy,
                             engine=args.engine, spark=args.master)
        except _USER_ERRORS as err:
            return show_error(str(err))
        try:
            view = open_view(query, args.chart, x=args.x, y=args.y, by=args.by,
                             table=args.table or None, rows=args.rows, explain=args.explain)
        except ChartOptionError as err:
            query.stop()
            return show_error(str(err))
        self.shell.user_ns[args.name] = query
        if view.has_chart:
            load_bokehjs()
        from IPython.display import display

        display(view.widget)
        view.start()

    def _stop_named(self, name: str) -> None:
        """Re-running a cell replaces its query: stop the running one of that name first."""
        running = {q.name: q for q in sn.queries()}.get(name)
        if running is not None:
            running.stop()

    # -- %stream SUBCOMMAND ----------------------------------------------------------------------------

    def _line(self, line: str) -> None:
        try:
            words = shlex.split(line)
        except ValueError as err:
            return show_error(f"%stream {line}: {err}")
        if not words:
            return show_error(f"%stream needs a subcommand: {SUBCOMMANDS}")
        command, rest = words[0], words[1:]
        if command == "list":
            return self._list()
        if command == "stop" and rest == ["--all"]:
            said = "; ".join(perform(q, "stop") for q in sn.queries()) or "no active queries to stop"
            return show_text(f'<div style="font-size:12px">{html.escape(said)}</div>', said)
        actions = {"explain": self._explain, "progress": self._progress}
        if command not in actions and command not in ACTIONS:
            return show_error(f"%stream: unknown subcommand {command!r}; use {SUBCOMMANDS}")
        if len(rest) != 1:
            return show_error(f"%stream {command} takes one query name: %stream {command} NAME"
                              + (" (or --all)" if command == "stop" else ""))
        query = self._find(rest[0])
        if query is None:
            active = ", ".join(q.name for q in sn.queries()) or "none"
            return show_error(f"no query named {rest[0]!r} (active queries: {active})")
        if command in actions:
            return actions[command](query)
        try:
            said = perform(query, command)
        except (ActionRefused, sn.StreamingQueryException, RuntimeError) as err:
            return show_error(str(err))
        return show_text(f'<div style="font-size:12px">{html.escape(said)}</div>', said)

    def _find(self, name: str):
        running = {q.name: q for q in sn.queries()}.get(name)
        if running is not None:
            return running
        bound = self.shell.user_ns.get(name)
        return bound if isinstance(bound, sn.StreamingQuery) else None

    def _list(self) -> None:
        active = sn.queries()
        if not active:
            return show_text('<div style="font-size:12px;color:#666">no active queries</div>',
                             "no active queries")
        rows, lines = [], []
        for q in active:
            progress = q.last_progress or {}
            state, message = state_of(q)
            cells = [q.name, state.label, str(progress.get("batchId", "—")), q.plan.output_mode,
                     q.trigger.describe(), message]
            rows.append("<tr>" + "".join(f'<td style="padding:2px 8px">{html.escape(c)}</td>' for c in cells)
                        + "</tr>")
            lines.append("  ".join(cells))
        head = "".join(f'<th style="padding:2px 8px;text-align:left">{h}</th>'
                       for h in ("name", "state", "batch", "mode", "trigger", "status"))
        show_text(f'<table style="font-size:12px"><tr>{head}</tr>{"".join(rows)}</table>', "\n".join(lines))

    def _explain(self, query) -> None:
        view = open_view(query, explain=True)
        from IPython.display import display

        display(view.widget)
        view.start()

    def _progress(self, query) -> None:
        progress = query.last_progress
        if progress is None:
            return show_text('<div style="font-size:12px;color:#666">no batch has run yet</div>',
                             f"{query.name}: no batch has run yet")
        print(json.dumps(progress, indent=2, default=str))


def register(ipython) -> None:
    """``%load_ext stream_nb``: the magics, and BokehJS loaded into the page for the charts."""
    ipython.register_magics(StreamMagics)
    load_bokehjs()
    warm_up()
