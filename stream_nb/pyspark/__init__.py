"""PySpark's streaming API running on stream_nb: change the import, keep the code.

``from stream_nb.pyspark.sql import SparkSession`` mirrors ``pyspark.sql``; each DataFrame is a Spark SQL
query that ``writeStream...start()`` hands to ``sn.start``.
"""
