"""`calroulette serve`: the member pages and the organizer's view, served by uvicorn."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer

from .app import ConfigOption, app, handle_errors, stderr


@app.command()
@handle_errors
def serve(
    host: Annotated[str, typer.Option(help="The address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="The port to listen on.", min=1, max=65535)] = 8000,
    forwarded_allow_ips: Annotated[
        str,
        typer.Option(
            help="Proxies trusted to say the visitor's address (X-Forwarded-For); the rate "
            "limits count per visitor address.",
        ),
    ] = "127.0.0.1",
    config: ConfigOption = Path("members.toml"),
) -> None:
    """Serve the member pages: sign up, see your week, pause, leave; and /admin.

    Needs CALROULETTE_SECRET_KEY (signs every link) and, for /admin,
    CALROULETTE_ADMIN_PASSWORD. Run it behind a reverse proxy with TLS (docs/organizer.md).

    Example:

        calroulette serve --config members.toml --port 8000
    """
    from calroulette import service  # deferred: see cli/__init__.py

    settings = service.serve(config, host=host, port=port)

    import uvicorn

    from calroulette.web.app import create_app

    stderr().print(f"calroulette: serving {settings.community.name} at {settings.base_url}")
    logging.getLogger("calroulette.web").setLevel(logging.INFO)
    uvicorn.run(
        create_app(settings),
        host=host,
        port=port,
        access_log=False,  # it would log the tokens of signed links; ours leaves them out
        proxy_headers=True,
        forwarded_allow_ips=forwarded_allow_ips,
        server_header=False,
        log_level="warning",
    )
