"""nsm: a command-line workbench for North Star Metric trees."""

__version__ = "0.1.0"
