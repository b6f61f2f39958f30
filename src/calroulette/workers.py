"""What every worker process of ours does first: leave when the process that started it dies.

calroulette reads feeds in ``spawn`` worker processes (:mod:`calroulette.availability.reader`)
and renders rounds in forked or spawned ones (:func:`calroulette.delivery.render_round`). A
worker waits for work on a pipe that it holds both ends of, so when its parent is killed
(SIGKILL, the OOM killer, a cron timeout's SIGTERM) it never sees the pipe close and would wait
forever, ~60 MB each, two more with every killed run. A daemon thread notices the parent is
gone (the worker is re-parented) and ends the worker.
"""

from __future__ import annotations

import os
import threading
import time

CHECK_EVERY = 0.5  # seconds


def exit_with_parent() -> None:
    """In a worker process: exit as soon as the process that started it is gone."""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(CHECK_EVERY)
        os._exit(1)  # no clean-up to run: the work was the parent's, and it is gone

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()
