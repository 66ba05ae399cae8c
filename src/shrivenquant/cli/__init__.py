"""The ``shrivenquant`` command line (``python -m shrivenquant`` too)."""

from shrivenquant.cli.main import build_parser, main

__all__ = ["build_parser", "main"]
