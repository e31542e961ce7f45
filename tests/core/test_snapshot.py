import pytest

from core.snapshot import (
    FIELD_LIMITS,
    NOT_ONE_OF,
    REQUIRED,
    TOO_LONG,
    UNKNOWN,
    FieldProblem,
    Invalid,
    Snapshot,
    validate_snapshot,
)


def test_valid_snapshot_is_trimmed_and_defaults_urgency():
    result = validate_snapshot({"summary": "  VPN drops every 10 minutes  ", "ticket": " T-1 "})
    assert result == Snapshot(summary="VPN drops every 10 minutes", ticket="T-1", urgency="normal")


@pytest.mark.parametrize("summary", ["", "   ", None])
def test_summary_is_required(summary):
    result = validate_snapshot({"summary": summary})
    assert isinstance(result, Invalid)
    assert result.errors == {"summary": FieldProblem("summary", REQUIRED)}


@pytest.mark.parametrize("field", sorted(FIELD_LIMITS))
def test_each_field_names_its_limit(field):
    limit = FIELD_LIMITS[field][1]
    fields = {"summary": "ok", field: "x" * (limit + 1)}
    result = validate_snapshot(fields)
    assert isinstance(result, Invalid)
    assert result.errors[field] == FieldProblem(field, TOO_LONG, limit=limit, length=limit + 1)


def test_at_the_limit_is_fine():
    limit = FIELD_LIMITS["tried"][1]
    assert isinstance(validate_snapshot({"summary": "ok", "tried": "x" * limit}), Snapshot)


def test_bad_urgency_and_unknown_field():
    result = validate_snapshot({"summary": "ok", "urgency": "yesterday", "colour": "red"})
    assert isinstance(result, Invalid)
    assert result.errors == {"urgency": FieldProblem("urgency", NOT_ONE_OF, choices=("low", "normal", "high", "critical")),
                             "colour": FieldProblem("colour", UNKNOWN)}


def test_control_and_bidi_characters_never_get_in():
    snap = validate_snapshot({"summary": "VPN\x00 down \u202eevil\u202c", "tried": "\x07reboot\r\nagain"})
    assert snap.summary == "VPN down evil" and snap.tried == "reboot\nagain"
    assert isinstance(validate_snapshot({"summary": "\x00\u202e"}), Invalid), "nothing left: the summary is required"
