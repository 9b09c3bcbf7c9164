"""Tree files: located YAML, the model, change strings, formulas, the compiled tree."""
