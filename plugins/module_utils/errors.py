# -*- coding: utf-8 -*-
# Copyright: Contributors to the icr.registry project
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""The one error type of the collection.

Every client (management API, registry /v2, Docker engine) turns its failures into an
``IcrError``; modules turn an ``IcrError`` into one ``fail_json`` line. ``str(err)`` is that
line: the message, then the HTTP status, the ICR code and the transaction id when known.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

_WHITESPACE = re.compile(r"\s+")


def one_line(text):
    """Collapse any whitespace run (newlines included) to one space."""
    return _WHITESPACE.sub(" ", str(text)).strip()


class IcrError(Exception):
    """A failure worth one clear line: what failed, and the server's evidence."""

    def __init__(self, message, status=None, code=None, transaction_id=None, retry_after=None):
        self.message = one_line(message)
        self.status = status
        self.code = code
        self.transaction_id = transaction_id
        # Seconds the server asked us to wait (Retry-After), for the retry policy.
        self.retry_after = retry_after
        super(IcrError, self).__init__(self.message)

    def __str__(self):
        details = []
        if self.status is not None:
            details.append("HTTP %s" % self.status)
        if self.code:
            details.append("code %s" % self.code)
        if self.transaction_id:
            details.append("transaction id %s" % self.transaction_id)
        if not details:
            return self.message
        return "%s (%s)" % (self.message, ", ".join(details))

    def as_dict(self):
        """The fields for a module result (``fail_json(msg=str(err), **err.as_dict())``)."""
        return {"status": self.status, "code": self.code, "transaction_id": self.transaction_id}


class MissingLibrary(IcrError):
    """A Python library the operation needs is not installed where the module runs."""

    def __init__(self, library, import_error):
        super(MissingLibrary, self).__init__("the Python library %s is missing" % library)
        self.library = library
        self.import_error = str(import_error)
