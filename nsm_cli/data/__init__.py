"""Data: the data sources named by a tree, read into per-period series."""
