"""Sources and sinks, grouped by the system they talk to (files, parquet, kafka, postgres);
the sink contract shared by all of them is in sinks.py, sink_specs.py and rejections.py."""
