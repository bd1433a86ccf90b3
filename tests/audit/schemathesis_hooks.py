"""schemathesis hooks of `make audit` (audit.py names this file in SCHEMATHESIS_HOOKS).

The OpenAPI description states every rule of the request bodies as JSON Schema but one:
an event's `ends_at` must be after its `starts_at` (its description says so in words).
Of the cases schemathesis generates as valid, this drops the ones that break it, so that
positive_data_acceptance holds the API to everything else: a POST's or PUT's body with
the two out of order, and a PATCH's naming only one of them (the other is the stored
one, which the generator cannot know). Invalid cases are left as they are.

Nor can JSON Schema state the club's password rule (not common, breached or easy to
guess: zxcvbn's estimate, backend/app/services/password_policy.py, loaded from there):
of the valid cases of the routes that take a new password, this drops those whose
password the rule refuses (the API's 422 says so, as the description does in words).

And the account the fuzzing runs as (its id in TDC_FUZZ_OWN_USER_ID) is left alone:
once a PATCH has made another member admin, the next could demote or deactivate it, and
the rest of the run would get only 401s and 403s.
"""

import importlib.util
import os
from datetime import datetime
from pathlib import Path

import schemathesis
from schemathesis import GenerationMode

_POLICY = Path(__file__).resolve().parents[2] / "backend/app/services/password_policy.py"
_spec = importlib.util.spec_from_file_location("password_policy", _POLICY)
password_policy = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(password_policy)

EVENT_WRITES = {
    ("POST", "/api/v1/admin/events"),
    ("PUT", "/api/v1/admin/events/{slug}"),
    ("PATCH", "/api/v1/admin/events/{slug}"),
}
USER_WRITE = ("PATCH", "/api/v1/admin/users/{user_id}")
NEW_PASSWORD_ROUTES = {
    ("POST", "/api/v1/auth/register"),
    ("POST", "/api/v1/auth/reset"),
    ("POST", "/api/v1/auth/password"),
}
OWN_USER_ID = os.environ.get("TDC_FUZZ_OWN_USER_ID")


def _is_own_account(case) -> bool:
    try:
        return int(str((case.path_parameters or {}).get("user_id"))) == int(OWN_USER_ID)
    except (TypeError, ValueError):  # no id set, or a user_id no route takes
        return False


def _is_positive(case) -> bool:
    return (case.meta is not None and case.meta.generation.mode == GenerationMode.POSITIVE
            and isinstance(case.body, dict))


def _password_refused(body: dict) -> bool:
    password = body.get("password")
    if not isinstance(password, str):
        return False
    email, username = str(body.get("email", "")), str(body.get("username", ""))
    return bool(password_policy.password_problems(password, email, username))


@schemathesis.hook
def filter_case(context, case) -> bool:
    if (case.method.upper(), case.path) == USER_WRITE:
        return not _is_own_account(case)
    if (case.method.upper(), case.path) in NEW_PASSWORD_ROUTES:
        return not (_is_positive(case) and _password_refused(case.body))
    if ((case.method.upper(), case.path) not in EVENT_WRITES or case.meta is None
            or case.meta.generation.mode != GenerationMode.POSITIVE
            or not isinstance(case.body, dict)):
        return True
    starts, ends = case.body.get("starts_at"), case.body.get("ends_at")
    if starts is None and ends is None:
        return True  # a PATCH leaving both as stored
    try:
        return datetime.fromisoformat(ends) > datetime.fromisoformat(starts)
    except (TypeError, ValueError):  # only one of the two
        return False
