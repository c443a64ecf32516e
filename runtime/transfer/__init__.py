"""Moving tickets between desks: ``import tickets`` from CSV or JSONL through a mapping, ``export`` to JSONL."""
