"""Entrypoints: the command line, the HTTP API and the switch's routing app."""
