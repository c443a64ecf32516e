"""Loading YAML definitions: load → Spec → IR → checks (see README in this folder)."""
