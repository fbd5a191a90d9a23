"""Stories: articles from different outlets that report the same news event."""
