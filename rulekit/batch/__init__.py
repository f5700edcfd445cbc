"""Batch runs: a whole file of households decided by a pack (`rulekit run`), on one machine with
worker processes, or on Dask (`rulekit.batch.dask`)."""
from rulekit.batch.readers import BatchError
from rulekit.batch.run import Job, Summary, run

__all__ = ["BatchError", "Job", "Summary", "run"]
