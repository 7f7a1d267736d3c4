"""The one mapping from haul's exception tree to HTTP: a status for every branch, row by row,
and the headers that go with some of them."""

from __future__ import annotations

import pytest

from haul import errors
from haul.errors import HaulError
from haul.web.errors import INVALID_FORM, STATUS_CODES, headers_for, status_for, status_of

ROWS: list[tuple[HaulError, int]] = [
    (errors.InputError(), 422),
    (errors.InvalidFields({"name": "A name is needed."}), 422),
    (errors.InvalidConfig({"max_active": "A whole number."}), 422),
    (errors.InvalidURL(), 422),
    (errors.NoClientForSource(), 422),
    (errors.InvalidCursor(), 422),
    (errors.NotFound(), 404),
    (errors.ProfileNotFound(), 404),
    (errors.InvalidLink(), 404),
    (errors.IptvNotFound(), 404),
    (errors.Unauthorized(), 401),
    (errors.LoginFailed(), 401),
    (errors.Forbidden(), 403),
    (errors.NoAccount(), 403),
    (errors.CsrfRejected(), 403),
    (errors.Gone(), 410),
    (errors.ExpiredLink(), 410),
    (errors.Conflict(), 409),
    (errors.DuplicateDownload(existing_id=3), 409),
    (errors.InvalidTransition(), 409),
    (errors.ProfileInUse(), 409),
    (errors.ProviderDisabled(), 409),
    (errors.PayloadTooLarge(), 413),
    (errors.LimitExceeded(), 429),
    (errors.TooManyAttempts(retry_after=30), 429),
    (errors.TooManyListings(retry_after=12), 429),
    (errors.FormatsUnavailable(), 422),
    (errors.InvalidChoice({"format": "bad"}), 422),
    (errors.ClientError(), 502),
    (errors.ClientUnavailable(), 502),
    (errors.ClientItemNotFound(ref="abc"), 502),
    (errors.ProviderError(), 502),
    (errors.ProviderUnavailable(), 502),
    (errors.StorageError(), 503),
    # the default branch: errors that are not about the request
    (errors.HaulError(), 500),
    (errors.StartRefused(), 500),
    (errors.TransferError(), 500),
    (errors.UnsupportedSource(), 500),
]


@pytest.mark.parametrize(("exc", "status"), ROWS, ids=lambda row: type(row).__name__)
def test_status_for(exc: HaulError, status: int) -> None:
    assert status_for(exc) == status
    assert status_of(type(exc)) == status


def test_every_branch_of_the_table_has_a_row() -> None:
    tabled = {kind for kind, _ in STATUS_CODES}
    rowed = {type(exc) for exc, _ in ROWS}
    assert tabled <= rowed


def test_a_form_with_notes_answers_as_bad_input() -> None:
    assert INVALID_FORM == 422


@pytest.mark.parametrize(
    ("exc", "page", "headers"),
    [
        (errors.LimitExceeded(), False, {"Retry-After": "5"}),
        (errors.TooManyAttempts(retry_after=30.4), False, {"Retry-After": "30"}),
        (errors.TooManyAttempts(retry_after=30.4), True, {"Retry-After": "30"}),
        (errors.TooManyAttempts(retry_after=0.2), False, {"Retry-After": "1"}),
        (errors.TooManyListings(retry_after=41.2), False, {"Retry-After": "42"}),
        (errors.Unauthorized(), False, {"WWW-Authenticate": 'Bearer realm="haul"'}),
        (errors.LoginFailed(), False, {"WWW-Authenticate": 'Bearer realm="haul"'}),
        (errors.LoginFailed(), True, {}),  # a page logs in by its form
        (errors.Conflict(), False, {}),
        (errors.PayloadTooLarge(), False, {}),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, HaulError) else str(value),
)
def test_headers_for(exc: HaulError, page: bool, headers: dict[str, str]) -> None:
    assert headers_for(exc, page=page) == headers
