""" "Can't make it" in a Discord community: the round's post carries each attendee's own link
(never a manage link), and "I can't this week" posts the cancellation and then the new meeting,
each once. The webhook is pytest-httpserver; calendars too."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from calroulette import service
from calroulette.tokens import Purpose, verify

from .support.cant import NOW, Person, at, meeting, record_and_send, write_config
from .support.web import SECRET_KEY

ADA, GRACE = "ada@example.org", "grace@example.org"
UID = "m-ada-grace@calroulette"
FREE = [(at(1, 14), at(1, 17)), (at(3, 10), at(3, 12))]


@pytest.fixture
def posts(httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    got: list[dict[str, Any]] = []

    def hook(request: Request) -> Response:
        form = request.form.get("payload_json")
        got.append(json.loads(form if form is not None else request.get_data()))
        return Response(status=204)

    httpserver.expect_request("/webhook", method="POST").respond_with_handler(hook)
    monkeypatch.setenv("CALROULETTE_DISCORD_WEBHOOK", httpserver.url_for("/webhook"))
    monkeypatch.setenv("CALROULETTE_SECRET_KEY", SECRET_KEY)
    return got


def test_the_post_carries_each_attendees_link_and_a_cancel_then_the_new_meeting(
    tmp_path: Path, httpserver: HTTPServer, posts: list[dict[str, Any]]
) -> None:
    people = [
        Person("Ada Lovelace", FREE, extra={"discord_id": "111111111111111111"}),
        Person("Grace Hopper", FREE, extra={"discord_id": "222222222222222222"}),
        Person("Zoe Zed", [(at(3, 10), at(3, 11))], extra={"standby": True}),
    ]
    config = write_config(tmp_path, httpserver, people, method="discord")
    record_and_send(config, [meeting(UID, [ADA, GRACE], at(1, 14))])
    (invitation,) = posts
    content = invitation["content"]
    links = dict(re.findall(r"(\w+): <(http://127\.0\.0\.1:8000/cant/[^>]+)>", content))
    assert set(links) == {"Ada", "Grace"}
    for name, who in (("Ada", ADA), ("Grace", GRACE)):
        claim = verify(SECRET_KEY, Purpose.CANT, links[name].rsplit("/", 1)[1], now=NOW)
        assert claim.subject == f"{who} {UID}"
    assert "/me/" not in content and "/unsubscribe/" not in content
    done = service.cant_cancel(config, links["Ada"].rsplit("/", 1)[1], now=NOW)
    assert done.released and done.released[0].partner == "zoe@example.org"
    cancel, new = posts[1:]
    assert "cancelled" in cancel["content"]
    assert "Can't make it?" not in cancel["content"]
    assert "Grace" in new["content"] and "Zoe" in new["content"]
    assert "/cant/" in new["content"]
    service.cant_cancel(config, links["Ada"].rsplit("/", 1)[1], now=NOW)
    assert len(posts) == 3  # a second click posts nothing
