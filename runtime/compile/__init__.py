"""Pure compilers from the IR to runtime artifacts; no I/O happens here."""
