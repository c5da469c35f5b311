"""`make bench`: every benchmark in turn; extra arguments (e.g. --quick) go to each."""

import os
import subprocess
import sys
from pathlib import Path

BENCHES = [
    "demo_fleet.py", "ingest.py", "embed.py", "search.py", "export.py", "mining.py", "lists.py",
]  # fmt: skip


def main() -> int:
    here = Path(__file__).parent
    # As the servers run (config/__init__.py): a bench imports numpy before that.
    env = {**os.environ, "NUMPY_MADVISE_HUGEPAGE": os.environ.get("NUMPY_MADVISE_HUGEPAGE", "0")}
    failed = []
    for name in BENCHES:
        print(f"\n# bench/{name}", flush=True)
        if subprocess.run([sys.executable, str(here / name), *sys.argv[1:]], env=env).returncode:
            failed.append(name)
    if failed:
        print(f"\nfailed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
