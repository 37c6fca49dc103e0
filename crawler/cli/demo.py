"""`lijian demo` and `lijian sandbox serve`: the whole path on the bundled sandbox marketplace."""

from __future__ import annotations

import signal
import sys
from pathlib import Path

import click

from crawler.cli.common import (
    CONTEXT,
    UserError,
    db_option,
    friendly_errors,
    out_option,
)
from crawler.config import load_config


@click.command(context_settings=CONTEXT)
@out_option
@db_option
@click.option("--listings", default=400, show_default=True, type=click.IntRange(1, 1_000_000),
              help="Size of the sandbox catalog.")
@click.option("--seed", default=2018, show_default=True, type=int, help="Sandbox catalog seed.")
@click.option("--site", "sites", multiple=True, type=click.Choice(["a", "b", "c", "d"]),
              help="Sandbox flavours to crawl (default: all four).")
@click.option("--evidence", "evidence", default=10, show_default=True, type=click.IntRange(0),
              help="Capture and export this many top suspects as signed evidence packages (0: none).")
@friendly_errors
def demo(out_dir: Path | None, db_url: str | None, listings: int, seed: int, sites: tuple[str, ...],
         evidence: int) -> None:
    """Run the whole path on the bundled sandbox: serve, crawl, match, capture evidence of the
    top suspects, write the digest, export their evidence packages.

    \b
    Example:
      lijian demo --out out --db sqlite:///lijian.db
    """
    from crawler.app.demo import run_demo

    config = load_config(database_url=db_url, out_dir=out_dir)
    run_demo(config, listings=listings, seed=seed, sites=sites or ("a", "b", "c", "d"), evidence=evidence)

# -- sandbox ------------------------------------------------------------------------------
@click.group(context_settings=CONTEXT)
def sandbox() -> None:
    """The bundled sandbox marketplace (a local test market with known suspects)."""


@sandbox.command("serve", context_settings=CONTEXT)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind (keep it on loopback).")
@click.option("--port", default=8642, show_default=True, type=click.IntRange(0, 65535), help="Port; 0 picks a free one.")
@click.option("--listings", default=400, show_default=True, type=click.IntRange(1, 10_000_000), help="Catalog size.")
@click.option("--seed", default=2018, show_default=True, type=int, help="Catalog seed.")
@click.option("--faults", default="", metavar="MODES",
              help="Comma-separated fault modes: 5xx, 429, slow, truncate, captcha.")
@click.option("--fault-rate", default=0.15, show_default=True, type=click.FloatRange(0, 1),
              help="Share of pages that fail (on their first request only).")
@click.option("--flavours", default="a,b,c,d", show_default=True, metavar="LIST",
              help="Flavours the listings are spread over (e.g. a,b,d: no JavaScript shop).")
@click.option("--verbose", is_flag=True, help="Log every request.")
def sandbox_serve(host: str, port: int, listings: int, seed: int, faults: str, fault_rate: float, flavours: str,
                  verbose: bool) -> None:
    """Serve the sandbox marketplace until interrupted.

    \b
    Example:
      lijian sandbox serve --port 8642 --listings 2000 --faults 5xx,429 --fault-rate 0.2
    """
    from crawler.sandbox.server import FaultPlan, make_server

    modes = tuple(m.strip() for m in faults.split(",") if m.strip())
    try:
        plan = FaultPlan(modes=modes, rate=fault_rate, seed=seed)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--faults") from None
    try:
        server = make_server(host, port, listings=listings, seed=seed, faults=plan, verbose=verbose,
                             flavours=tuple(f.strip() for f in flavours.split(",") if f.strip()))
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--flavours") from None
    except OSError as exc:
        raise UserError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    click.echo(f"Sandbox marketplace: {listings} listings on {server.url}", nl=True)
    sys.stdout.flush()
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


def _interrupt(*_: object) -> None:
    raise KeyboardInterrupt
