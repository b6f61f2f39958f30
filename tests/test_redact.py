"""Secret calendar addresses are shown as host and file name only, and the logging filter masks
them (and the pieces libraries log on their own) in every record."""

from __future__ import annotations

import io
import logging

import pytest

from calroulette.redact import SECRETS, SecretFilter, SecretRegistry, redact_url

GOOGLE = (
    "https://calendar.google.com/calendar/ical/ada%40example.org/"
    "private-5f4e3d2c1b0a99887766554433221100/basic.ics"
)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (GOOGLE, "https://calendar.google.com/…/basic.ics"),
        (
            "https://outlook.office365.com/owa/calendar/abc@x.org/Zk9s8a7d6f5g/calendar.ics",
            "https://outlook.office365.com/…/calendar.ics",
        ),
        (
            "webcal://p01-caldav.icloud.com/published/2/MTIzNDU2Nzg5",
            "webcal://p01-caldav.icloud.com/…",
        ),
        (
            "https://cloud.example.org/remote.php/dav/calendars/ada/personal?export",
            "https://cloud.example.org/…",
        ),
        (
            "https://ada:hunter22@dav.example.org:8443/cal.ics",
            "https://dav.example.org:8443/…/cal.ics",
        ),
        ("https://example.org/?token=abcdef", "https://example.org/…"),
        ("https://example.org", "https://example.org"),
        ("/home/ada/calendar.ics", "/home/ada/calendar.ics"),
    ],
)
def test_redact_url_shows_host_and_file_name_only(url: str, shown: str) -> None:
    assert redact_url(url) == shown


def test_registry_masks_the_url_and_the_path_urllib3_logs_on_its_own() -> None:
    registry = SecretRegistry()
    registry.add(GOOGLE)
    logged = (
        "Retrying after connection broken by 'X': "
        "/calendar/ical/ada%40example.org/private-5f4e3d2c1b0a99887766554433221100/basic.ics"
    )
    masked = registry.mask(f"{GOOGLE} and {logged}")
    assert "private-5f4e" not in masked
    assert masked == (
        "https://calendar.google.com/…/basic.ics and Retrying after connection broken by 'X': "
        "…/basic.ics"
    )


def test_registry_masks_the_decoded_path_and_the_query_and_password() -> None:
    registry = SecretRegistry()
    registry.add("https://ada:pw-secret-1@cal.example.org/u/ada@x/tok-9988776655?key=zyx987654")
    text = "GET /u/ada@x/tok-9988776655?key=zyx987654 password pw-secret-1 key=zyx987654"
    masked = registry.mask(text)
    for secret in ("tok-9988776655", "zyx987654", "pw-secret-1"):
        assert secret not in masked


def test_short_strings_are_not_registered_so_common_words_stay_readable() -> None:
    registry = SecretRegistry()
    registry.add("abc")
    assert registry.mask("abc def") == "abc def"


def test_secret_filter_masks_arguments_and_tracebacks() -> None:
    SECRETS.add(GOOGLE)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(SecretFilter())
    logger = logging.getLogger("calroulette.test_redact")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("fetching %s", GOOGLE)
        try:
            raise ValueError(f"Max retries exceeded with url: {GOOGLE}")
        except ValueError:
            logger.exception("failed")
    finally:
        logger.removeHandler(handler)
    output = stream.getvalue()
    assert "private-5f4e" not in output
    assert "fetching https://calendar.google.com/…/basic.ics" in output
    assert "ValueError: Max retries exceeded with url: https://calendar.google.com/…/basic.ics" in (
        output
    )


def test_urllib3_records_are_masked_even_without_the_cli_logging(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The filters that making a feed session puts on urllib3's loggers mask a record on their
    own, for a program that configures logging its own way."""
    from calroulette.feeds import FetchLimits, make_client

    make_client(FetchLimits(), pool=1).close()  # installs the filters
    # Without the CLI's handlers: a CLI test earlier in this process leaves its masking handlers
    # on the "urllib3" logger, and they would mask the record before caplog's root handler.
    for name in ("urllib3", "urllib3.connectionpool"):
        monkeypatch.setattr(logging.getLogger(name), "handlers", [])
    SECRETS.add(GOOGLE)
    path = GOOGLE.split("calendar.google.com", 1)[1]
    with caplog.at_level(logging.DEBUG, logger="urllib3"):
        logging.getLogger("urllib3.connectionpool").warning("Retrying after error: %s", path)
    assert "private-5f4e" not in caplog.text
    assert "Retrying after error: …/basic.ics" in caplog.text
