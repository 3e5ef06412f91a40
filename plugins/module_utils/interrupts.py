# -*- coding: utf-8 -*-
# Copyright: Contributors to the icr.registry project
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""Stopping cleanly: a module that is told to stop, or whose controller has gone, stops
before it writes another tag and removes what it spooled.

``install()`` turns SIGTERM and SIGHUP into ``Interrupted``, raised in the main thread, so
every ``finally`` (the push spool) and Ansible's own temporary-folder cleanup run, and the
copy engine aborts its blob transfers instead of finishing them. ``ControllerWatch`` turns a
vanished controller into the same interrupt: when ansible-playbook (or its SSH connection)
dies, the module's stdout pipe loses its reader, which ``poll`` reports as an error on the
write end; nobody is left to read the result, so the module must not go on and write tags
half a minute later.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import select
import signal
import threading

STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP)


class Interrupted(BaseException):
    """The module was told to stop (a signal) or its controller has gone. A BaseException,
    like KeyboardInterrupt, so that no ``except Exception`` on the way (a retry, a best-effort
    cleanup) can swallow it; the module base reports it as one line."""


def _raise_interrupted(signum, _frame):
    raise Interrupted("stopped by %s before the task finished; no tag was written after it, and a rerun "
                      "completes the work" % signal.Signals(signum).name)


def install():
    """Turn the stop signals into Interrupted (main thread only, as Python requires); returns
    the handlers it replaced, for ``restore``."""
    if threading.current_thread() is not threading.main_thread():
        return {}
    return {signum: signal.signal(signum, _raise_interrupted) for signum in STOP_SIGNALS}


def restore(previous):
    """Put back the handlers ``install`` replaced."""
    for signum, handler in previous.items():
        signal.signal(signum, handler)


def output_reader_gone(fd=1):
    """Whether ``fd`` (stdout) is a pipe or socket whose reading end has closed."""
    poller = select.poll()
    try:
        poller.register(fd, 0)  # no events asked: only error and hang-up are reported
        events = poller.poll(0)
    except (OSError, ValueError):
        return False
    return any(mask & (select.POLLERR | select.POLLHUP) for _fd, mask in events)


def ensure_controller(fd=1):
    """Raise Interrupted when nobody reads the module's output any more (before a tag write)."""
    if output_reader_gone(fd):
        raise Interrupted("the controller that started this task has gone; stopped before writing a tag")


class ControllerWatch(threading.Thread):
    """A daemon thread that signals this process (SIGTERM) once its output has no reader."""

    def __init__(self, fd=1, interval=0.5):
        super(ControllerWatch, self).__init__(name="icr-controller-watch", daemon=True)
        self.fd = fd
        self.interval = interval
        self._stopped = threading.Event()

    def run(self):
        while not self._stopped.wait(self.interval):
            if output_reader_gone(self.fd):
                os.kill(os.getpid(), signal.SIGTERM)
                return

    def stop(self):
        self._stopped.set()
