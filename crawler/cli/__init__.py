"""`lijian`: the command line. Thin commands over the library; shared options declared once
(common.py).

Each command group lives in its own module and is imported only when it is run or listed (the
root group maps command names to "module:attribute", as sqlite-utils and datasette register
plugins' commands): no command module imports this one, so there is no import cycle, and
`lijian check` does not load the crawler.
"""

from __future__ import annotations

import importlib

import click

from crawler import errors
from crawler.cli.common import CONTEXT

# Command name -> where it is defined. Order does not matter: help lists them sorted.
COMMANDS = {
    "demo": "crawler.cli.demo:demo",
    "sandbox": "crawler.cli.demo:sandbox",
    "db": "crawler.cli.db:db",
    "config": "crawler.cli.db:show_config",
    "crawl": "crawler.cli.crawl:crawl",
    "worker": "crawler.cli.crawl:worker",
    "crawl-shop": "crawler.cli.crawl:crawl_shop",
    "match": "crawler.cli.matching:match",
    "check": "crawler.cli.matching:check",
    "eval": "crawler.cli.evaluate:evaluate",
    "digest": "crawler.cli.reports:digest",
    "report": "crawler.cli.reports:report",
    "triage": "crawler.cli.triage:triage",
    "sampling": "crawler.cli.triage:sampling",
    "campaign": "crawler.cli.campaigns:campaign",
    "scheduler": "crawler.cli.scheduler:scheduler_group",
    "runs": "crawler.cli.runs:runs",
    "evidence": "crawler.cli.evidence:evidence",
    "extract": "crawler.cli.extract:extract",
    "profiles": "crawler.cli.extract:profiles_group",
    "watchlist": "crawler.cli.watchlists:watchlist",
    "serve": "crawler.cli.console:serve",
    "user": "crawler.cli.console:user",
    "session": "crawler.cli.sessions:session",
}


class LazyGroup(click.Group):
    """A group whose commands are imported from their modules on first use."""

    def __init__(self, *args, lazy: dict[str, str], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = lazy

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in self.lazy:
            module, attribute = self.lazy[name].split(":")
            command = getattr(importlib.import_module(module), attribute)
            if not isinstance(command, click.Command) or command.name != name:
                raise RuntimeError(f"{self.lazy[name]} is not the command {name!r}")
            return command
        return super().get_command(ctx, name)

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except errors.UserError as exc:  # raised outside a command's own error handling (settings)
            raise click.ClickException(str(exc)) from None


@click.group(cls=LazyGroup, lazy=COMMANDS, context_settings=CONTEXT)
@click.version_option(package_name="lijian-monitor", prog_name="lijian")
def cli() -> None:
    """Lijian Monitor: find counterfeit and substandard goods sold online.

    \b
    Example:
      lijian demo            # sandbox marketplace -> crawl -> match -> digest in ./out
    """


def main() -> None:
    cli(prog_name="lijian")
