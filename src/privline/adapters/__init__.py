"""Adapters: the implementations of the services' ports."""
