"""The public programme: published events, upcoming first, with their location."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from app.models.event import EventInput
from app.services import events
from app.utils.validation import validate
from tests.club import assert_error_envelope, seed_the_locations, selects_run

NOW = datetime.now(UTC).replace(microsecond=0)


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def add_event(app, slug, starts_in_hours, hours=2, location="the-lounge", published=True):
    starts = NOW + timedelta(hours=starts_in_hours)
    data = validate(EventInput, {
        "slug": slug, "title": slug.replace("-", " ").title(), "event_type": "concert",
        "location": location, "starts_at": iso(starts),
        "ends_at": iso(starts + timedelta(hours=hours)),
    })
    with app.app_context():
        event = events.create_event(data, created_by=None)
        if published:
            event = events.set_published(event["id"], True)
    return event


@pytest.fixture
def programme(app, clean_tables):
    """Past, running and upcoming events at two locations, and one unpublished draft."""
    seed_the_locations(app)
    add_event(app, "last-week", -24 * 7)
    add_event(app, "running-now", -1, hours=3, location="jazz-club")
    add_event(app, "tomorrow", 24)
    add_event(app, "next-week", 24 * 7, location="jazz-club")
    add_event(app, "tonight", 3)
    add_event(app, "secret-draft", 5, published=False)


def slugs(response):
    assert response.status_code == 200, response.get_data(as_text=True)
    return [event["slug"] for event in response.get_json()["data"]]


def test_lists_published_events_still_to_come_by_start(client, programme):
    response = client.get("/api/v1/events")
    assert slugs(response) == ["running-now", "tonight", "tomorrow", "next-week"]
    assert response.get_json()["meta"]["pagination"] == {
        "page": 1, "per_page": 20, "total": 4, "pages": 1}


def test_event_shape_with_location_and_utc_times(client, programme):
    event = client.get("/api/v1/events/tonight").get_json()["data"]
    assert event["title"] == "Tonight"
    assert event["event_type"] == "concert"
    assert event["is_published"] is True
    assert event["starts_at"] == iso(NOW + timedelta(hours=3))
    assert event["location"]["slug"] == "the-lounge"
    assert event["location"]["name"] == "The Lounge"
    assert event["location"]["theme_primary"].startswith("#")


def test_time_zone_offsets_are_stored_as_utc(app, client, clean_tables):
    seed_the_locations(app)
    data = validate(EventInput, {
        "slug": "lisbon-night", "title": "Lisbon night", "event_type": "concert",
        "location": "arquipelago", "starts_at": "2099-06-01T22:30:00+02:00",
        "ends_at": "2099-06-02T01:00:00.999+02:00"})
    with app.app_context():
        events.set_published(events.create_event(data, created_by=None)["id"], True)
    event = client.get("/api/v1/events/lisbon-night").get_json()["data"]
    assert event["starts_at"] == "2099-06-01T20:30:00Z"
    assert event["ends_at"] == "2099-06-01T23:00:00Z"


def test_a_draft_is_not_public(client, programme):
    assert "secret-draft" not in slugs(client.get("/api/v1/events?from=2000-01-01T00:00:00Z"))
    assert_error_envelope(client.get("/api/v1/events/secret-draft"), 404)


@pytest.mark.parametrize("slug", ["no-such-event", "TONIGHT", "tonight'--", "x" * 100])
def test_unknown_event_is_404(client, programme, slug):
    assert_error_envelope(client.get(f"/api/v1/events/{slug}"), 404)


def test_filter_by_location(client, programme):
    assert slugs(client.get("/api/v1/events?location=jazz-club")) == ["running-now", "next-week"]


def test_an_unknown_location_filters_everything_out(client, programme):
    response = client.get("/api/v1/events?location=atlantis")
    assert slugs(response) == []
    assert response.get_json()["meta"]["pagination"]["total"] == 0


@pytest.mark.parametrize(("query", "expected"), [
    # `from` replaces "now": past events come back.
    ("from={week_ago}", ["last-week", "running-now", "tonight", "tomorrow", "next-week"]),
    # Events overlapping the window [from, to): running-now started before and still runs.
    ("from={now}&to={in_12h}", ["running-now", "tonight"]),
    ("to={in_12h}", ["running-now", "tonight"]),
    ("from={in_2d}", ["next-week"]),
    ("from={in_30d}", []),
    # An offset sent URL-encoded (a bare "+" would arrive as a space).
    ("from={now_lisbon}&to={in_12h}", ["running-now", "tonight"]),
])
def test_date_window(client, programme, query, expected):
    moments = {
        "now": iso(NOW), "in_12h": iso(NOW + timedelta(hours=12)),
        "week_ago": iso(NOW - timedelta(days=8)), "in_2d": iso(NOW + timedelta(days=2)),
        "in_30d": iso(NOW + timedelta(days=30)),
        "now_lisbon": NOW.astimezone(ZoneInfo("Europe/Lisbon")).isoformat().replace("+", "%2B"),
    }
    assert slugs(client.get(f"/api/v1/events?{query.format(**moments)}")) == expected


@pytest.mark.parametrize(("query", "field"), [
    ("from=yesterday", "from"),
    ("to=0.5", "to"),  # a number is not read as a Unix timestamp
    ("from=1767225600", "from"),
    ("from=2026-13-01T00:00:00Z", "from"),
    ("from=2026-05-01T20:00:00", "from"),  # no time zone: ambiguous
    ("to=2026-05-01T20:00:00+02:00", "to"),  # "+" decoded as a space
    ("from=2024-01-01T12:99:00Z", "from"),
    ("location=Jazz%20Club", "location"),
    ("location=", "location"),
    ("location=%C3%B3pera", "location"),
    ("location=" + "a" * 65, "location"),
    ("location=%27%20OR%201%3D1--", "location"),
    ("page=0", "page"),
])
def test_bad_filters_are_400_naming_the_parameter(client, programme, query, field):
    assert_error_envelope(client.get(f"/api/v1/events?{query}"), 400, field)


@pytest.mark.parametrize(("query", "expected"), [
    # Bounds are any RFC 3339 date-time, as the OpenAPI description says: one outside the
    # years events can have (1970-9998) selects what that end of the range would.
    ("from=0001-01-01T00:00:00%2B01:00",
     ["last-week", "running-now", "tonight", "tomorrow", "next-week"]),
    ("from=1969-07-20T20:17:40Z", ["last-week", "running-now", "tonight", "tomorrow",
                                   "next-week"]),
    ("to=9999-12-31T23:59:59-05:00", ["running-now", "tonight", "tomorrow", "next-week"]),
    ("from=9999-12-31T23:59:59Z", []),
    ("to=0001-01-01T00:00:00Z", []),
    # `to` at or before `from` is no error (the description cannot forbid it): the events
    # running throughout [to, from].
    ("from={in_1h}&to={now}", ["running-now"]),
    ("from={now}&to={now}", ["running-now"]),
])
def test_any_date_time_is_a_bound(client, programme, query, expected):
    moments = {"now": iso(NOW), "in_1h": iso(NOW + timedelta(hours=1))}
    assert slugs(client.get(f"/api/v1/events?{query.format(**moments)}")) == expected


def test_pagination_of_events(client, programme):
    page = client.get("/api/v1/events?per_page=3&page=2").get_json()
    assert [e["slug"] for e in page["data"]] == ["next-week"]
    assert page["meta"]["pagination"] == {"page": 2, "per_page": 3, "total": 4, "pages": 2}
    past = client.get("/api/v1/events?per_page=3&page=3").get_json()
    assert past["data"] == []
    assert past["meta"]["pagination"]["total"] == 4


def test_the_list_costs_one_query(client, programme, mariadb):
    response, selects = selects_run(mariadb, lambda: client.get("/api/v1/events"))
    assert slugs(response)
    assert selects == 1
