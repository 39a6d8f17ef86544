"""Ctrl-C during a verb: cancel Spark's running jobs, then raise KeyboardInterrupt where that breaks nothing.

pyspark's own SIGINT handler cancels the jobs over py4j from inside whatever py4j call the main thread is in, and
raises there: that call's connection can then read another call's answer (a Py4JError, exit 3, traceback). Here the
jobs are cancelled from another thread, so the call in flight returns (a cancelled job's error), and the
KeyboardInterrupt is raised as soon as the main thread is outside py4j's code. The verb then stops as `cli` says.
"""
from __future__ import annotations

import _thread
import contextlib
import os
import signal
import sys
import threading
from collections.abc import Iterator
from types import FrameType

RETRY_SECONDS = 0.1  # after a Ctrl-C, how often jobs are cancelled (until the verb stops) and the main thread asked again
_PY4J = f"{os.sep}py4j{os.sep}"


def in_py4j(frame: FrameType | None) -> bool:
    """The main thread is inside a py4j call (any frame of its stack in py4j's package)."""
    while frame is not None:
        if _PY4J in frame.f_code.co_filename:
            return True
        frame = frame.f_back
    return False


def cancel_spark_jobs() -> None:
    """Cancel the running jobs of this process's Spark session, if it has a classic one (a Connect session's
    operations end with the client's process), and silence its log: each cancelled task would log an error."""
    from pyspark import SparkContext

    context = SparkContext._active_spark_context
    if context is None:
        return
    try:
        context.setLogLevel("OFF")
        context.cancelAllJobs()
    except Exception:  # a context still starting or already stopped: nothing to cancel
        pass


def ask_main_thread() -> None:
    """SIGINT to the main thread alone: a real signal wakes it from a wait (a sleep, a lock) as Ctrl-C does."""
    if hasattr(signal, "pthread_kill"):
        signal.pthread_kill(threading.main_thread().ident or 0, signal.SIGINT)
    else:  # Windows: only sets the flag the main thread checks between steps of Python code
        _thread.interrupt_main(signal.SIGINT)


class CtrlC:
    """SIGINT handler for one verb's run in the main thread."""

    def __init__(self) -> None:
        self.requested = threading.Event()
        self.finished = threading.Event()
        self.raised = False
        self.asker: threading.Thread | None = None

    def handle(self, signum: int, frame: FrameType | None) -> None:
        if self.raised or self.finished.is_set():
            return
        if not self.requested.is_set():
            self.requested.set()
            sys.stderr.write("[csc-demand] Ctrl-C: stopping; Spark's running jobs are cancelled (a Spark session "
                             "still starting is stopped once it has started)\n")
            self.asker = threading.Thread(target=self.ask_again, name="csc-demand-ctrl-c", daemon=True)
            self.asker.start()
        if in_py4j(frame):
            return  # asked again every RETRY_SECONDS until the call has returned (ask_again)
        self.raised = True
        raise KeyboardInterrupt

    def ask_again(self) -> None:
        """Until the verb has stopped, cancel again: a job submitted after the last cancelling (by the main thread
        before it stops, or by threads writing tables beside it) would run to its end."""
        while True:
            cancel_spark_jobs()
            if self.finished.wait(RETRY_SECONDS):
                return
            if not self.raised:
                ask_main_thread()


_current: CtrlC | None = None


def requested() -> bool:
    """Ctrl-C was pressed during the verb now running (an error that follows is its consequence)."""
    return _current is not None and _current.requested.is_set()


@contextlib.contextmanager
def handled() -> Iterator[None]:
    """Within the block, Ctrl-C is handled as above: in the main thread, unless SIGINT is ignored there (a job
    started in the background with nohup or `&`); elsewhere nothing changes."""
    global _current
    _current = None
    previous = signal.getsignal(signal.SIGINT)
    if threading.current_thread() is not threading.main_thread() or previous == signal.SIG_IGN:
        yield
        return
    ctrl_c = _current = CtrlC()
    signal.signal(signal.SIGINT, ctrl_c.handle)
    try:
        yield
    finally:
        ctrl_c.finished.set()
        if ctrl_c.asker is not None:
            ctrl_c.asker.join()
        signal.signal(signal.SIGINT, ctrl_c.handle)  # runs a Ctrl-C still pending with this handler, which ignores it
        signal.signal(signal.SIGINT, previous if previous is not None else signal.default_int_handler)
        if sys.exc_info()[0] is None and ctrl_c.requested.is_set() and not ctrl_c.raised:
            raise KeyboardInterrupt  # pressed during the last py4j call of the block
