"""Batch runs: a whole file of households decided by a pack (`rulekit run`), on one machine with
worker processes (row by row, or by whole Arrow batches for flat-fact packs: columnar_run.py), or
on a cluster with the same worker code: Dask (`rulekit.batch.dask`) or Spark (`rulekit.batch.spark`)."""
from rulekit.batch.readers import BatchError
from rulekit.batch.run import Job, Summary, run

__all__ = ["BatchError", "Job", "Summary", "run"]
