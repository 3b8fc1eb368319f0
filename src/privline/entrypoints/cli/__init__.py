"""The `privline` command line."""

from privline.entrypoints.cli.app import app
from privline.entrypoints.cli.main import main

__all__ = ["app", "main"]
