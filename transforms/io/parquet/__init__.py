"""Parquet record files: the Arrow schema of the record and the Parquet sink."""
