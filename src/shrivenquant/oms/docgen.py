"""Regenerate the transition table in ``docs/oms.md``: ``python -m shrivenquant.oms.docgen [path]``.

The table sits between ``<!-- transition-table:begin -->`` and ``<!-- transition-table:end -->``; a test
checks that the committed doc equals :func:`~shrivenquant.oms.states.transition_table_markdown`.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from shrivenquant.oms.states import transition_table_markdown

__all__ = ["update_doc"]

_BEGIN = "<!-- transition-table:begin -->\n"
_END = "<!-- transition-table:end -->"


def update_doc(path: str | Path) -> bool:
    """Rewrite the table in ``path``; returns True if the file changed."""
    p = Path(path)
    text = p.read_text()
    new, n = re.subn(re.escape(_BEGIN) + r".*?" + re.escape(_END),
                     lambda _: _BEGIN + transition_table_markdown() + _END, text, flags=re.S)
    if n != 1:
        raise ValueError(f"{p}: expected one transition-table marker pair, found {n}")
    if new != text:
        p.write_text(new)
        return True
    return False


if __name__ == "__main__":
    target = sys.argv[1] if len(sys.argv) > 1 else "docs/oms.md"
    print(f"{target}: {'updated' if update_doc(target) else 'up to date'}")
