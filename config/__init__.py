import os

# numpy asks the kernel for transparent huge pages for large arrays. Where the kernel
# compacts memory to find them (THP defrag "madvise", the default, with memory
# fragmented by the database's page cache), the first fault stalls: a 200 MB array of
# scene vectors took 0.5 s instead of 0.1 s. A server wants the steady cost. Read when
# numpy is first imported, which is after this in every entry point.
os.environ.setdefault("NUMPY_MADVISE_HUGEPAGE", "0")

from config.celery import app as celery_app

__all__ = ["celery_app"]
