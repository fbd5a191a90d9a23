"""newsbeam: a news ingestion pipeline on Apache Beam."""

__version__ = "0.1.0"
PIPELINE_VERSION = f"newsbeam/{__version__}"
