"""``python -m shrivenquant``: the same as the ``shrivenquant`` console script."""

from shrivenquant.cli.main import main

raise SystemExit(main())
