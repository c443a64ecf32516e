"""Tessera: a declarative ticketing runtime compiled from YAML definitions."""
