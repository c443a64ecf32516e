"""Requesters (contacts, organizations) and the desk's staff (agents, teams)."""
