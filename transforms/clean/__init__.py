"""Clean stage: article body extraction from raw text and HTML, with reasons and metadata."""
