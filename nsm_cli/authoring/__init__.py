"""Writing trees: `nsm init`'s templates and drafts from a CSV (the schema is in tree/)."""
