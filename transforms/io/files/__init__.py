"""Reading article files and writing record files (JSON Lines) on Beam file systems."""
