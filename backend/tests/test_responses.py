"""Every response helper produces the envelope with its status."""

import pytest

from app.utils import responses


@pytest.mark.parametrize(("helper", "status"), [
    (responses.bad_request, 400),
    (responses.unauthorized, 401),
    (responses.forbidden, 403),
    (responses.not_found, 404),
    (responses.conflict, 409),
    (responses.payload_too_large, 413),
    (responses.unprocessable, 422),
    (responses.too_many_requests, 429),
    (responses.server_error, 500),
    (responses.service_unavailable, 503),
])
def test_error_helpers_use_the_error_envelope(app_context, helper, status):
    response = helper("Something is off")
    assert response.status_code == status
    assert response.get_json() == {"success": False, "error": "Something is off"}


def test_success_and_created(app_context):
    ok = responses.success({"a": 1})
    assert ok.status_code == 200
    assert ok.get_json() == {"success": True, "data": {"a": 1}}
    made = responses.created({"id": 7})
    assert made.status_code == 201
    assert made.get_json() == {"success": True, "data": {"id": 7}}


def test_no_content_has_no_body(app_context):
    response = responses.no_content()
    assert response.status_code == 204
    assert response.get_data() == b""


@pytest.mark.parametrize(("total", "per_page", "pages"), [(0, 10, 0), (10, 10, 1), (11, 10, 2)])
def test_paginated_meta(app_context, total, per_page, pages):
    body = responses.paginated([1, 2], page=2, per_page=per_page, total=total).get_json()
    assert body["data"] == [1, 2]
    assert body["meta"]["pagination"] == {"page": 2, "per_page": per_page, "total": total,
                                          "pages": pages}


def test_field_errors_and_headers(app_context):
    response = responses.unprocessable("Validation failed", {"email": ["is not an email"]})
    assert response.get_json()["errors"] == {"email": ["is not an email"]}
    assert responses.too_many_requests(retry_after=30).headers["Retry-After"] == "30"
    assert responses.unauthorized().headers["WWW-Authenticate"].startswith("Bearer")
