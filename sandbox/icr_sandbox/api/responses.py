"""The shapes of /api/v1 answers: ``(status, headers, payload)`` triples and ICR's error body."""

import json

from ..state import Refused


def json_response(status, document):
    return status, {"Content-Type": "application/json"}, json.dumps(document).encode()


def empty_response(status):
    return status, {}, b""


def error_response(status, code, message, transaction_id):
    """``errors[0].message`` is what IBM's SDK core reads; ``trace`` echoes the transaction ID."""
    return json_response(status, {"errors": [{"code": code, "message": message}], "trace": transaction_id})


def boolean_fields(body, names):
    """The fields of ``names`` present in a JSON body, each required to be a JSON boolean."""
    changes = {}
    for name in names:
        if name in body:
            if not isinstance(body[name], bool):
                raise Refused(400, "CRG9400E", f"'{name}' must be true or false.")
            changes[name] = body[name]
    return changes
