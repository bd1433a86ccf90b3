"""Wait for what a worker thread or process does meanwhile."""

import time


def wait_for(predicate, seconds=15.0):
    """Poll PREDICATE every 0.1 s until it holds (True) or SECONDS pass (False)."""
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True
