"""Run the fault matrix (tests/integration/fault_matrix.py) and print it as a Markdown table.

    .venv/bin/python scripts/fault_matrix_table.py

Same as `.venv/bin/python -m tests.integration.fault_matrix` from the repository root; the
per-cell progress goes to stderr, the table to stdout; exits 1 if a cell is not as expected.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.integration.fault_matrix import main

if __name__ == "__main__":
    sys.exit(main())
