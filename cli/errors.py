"""Expected failures end a command with one line and exit status 1, never a traceback."""

from __future__ import annotations

from typing import Any

import click
import redis
from sqlalchemy.exc import OperationalError, ProgrammingError

from greenlight.errors import DomainError


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


class GreenlightGroup(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.exceptions.Abort):  # both are RuntimeErrors
            raise
        except DomainError as exc:
            raise click.ClickException(exc.message) from exc
        except OperationalError as exc:
            reason = _one_line(exc.orig or exc)
            hint = "; run `greenlight migrate`" if "no such table" in reason else ""
            raise click.ClickException(f"cannot use the database: {reason}{hint}") from exc
        except ProgrammingError as exc:
            raise click.ClickException(
                f"the database is not set up ({_one_line(exc.orig or exc)}); run `greenlight migrate`"
            ) from exc
        except redis.RedisError as exc:
            raise click.ClickException(f"cannot reach Redis: {_one_line(exc)}") from exc
        except RuntimeError as exc:  # e.g. GREENLIGHT_REDIS_URL is not set
            raise click.ClickException(_one_line(exc)) from exc
