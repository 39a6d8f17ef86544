"""Running a few Spark actions at once from threads of the driver."""
from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

PARALLEL_TABLES = 4  # Delta tables written at the same time
R = TypeVar("R")


def concurrently(tasks: list[Callable[[], R]]) -> list[R]:
    """Run the tasks a few at a time (one Delta table each): commits and query planning run on the driver, so
    jobs for several tables overlap instead of leaving the executors idle in between. Results in task order."""
    with ThreadPoolExecutor(max_workers=PARALLEL_TABLES) as pool:
        return list(pool.map(lambda task: task(), tasks))
