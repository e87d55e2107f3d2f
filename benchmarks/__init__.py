"""Side-by-side benchmarks: stream_nb against one-shot DuckDB and pandas (and, later, Spark).

Run ``python -m benchmarks [--quick] [--case NAME] [--output FILE]``; see ``benchmarks/README.md``.
"""
