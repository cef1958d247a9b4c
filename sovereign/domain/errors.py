"""Input errors that name the file, the key, what is wrong and how to fix it.

Validation collects every problem in one pass so a user fixes a stack file once, not once per run.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Iterable

# A word this long is an echoed value, not prose: shown shortened, so a 1 MB model id is not 1 MB of stderr.
_LONG_WORD = re.compile(r"\S{81,}")


def _shortened(text: str) -> str:
    return _LONG_WORD.sub(lambda m: f"{m.group()[:60]}…({len(m.group())} characters)", text)


@dataclass(frozen=True)
class InputError:
    file: str
    key: str
    problem: str
    fix: str

    def __post_init__(self) -> None:
        for name in ("key", "problem", "fix"):
            object.__setattr__(self, name, _shortened(getattr(self, name)))

    def __str__(self) -> str:
        return f"{self.file}: {self.key}: {self.problem}. Fix: {self.fix}"


class InvalidInput(ValueError):
    """Raised with every error found; str() is the full, user-facing report."""

    def __init__(self, errors: Iterable[InputError]):
        self.errors = tuple(errors)
        super().__init__("\n".join(str(e) for e in self.errors))


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """' (did you mean 'x'?)' for the closest choice, or '' when nothing is close."""
    ordered = sorted(choices)
    if len(str(word)) > 200:  # no id is that long; difflib would only spend time on it
        return ""
    close = difflib.get_close_matches(str(word), ordered, n=1, cutoff=0.6)
    # A short form of a long id ("mistral-7b" for "mistral-7b-instruct-v0.3") is too far for difflib.
    close = close or [c for c in ordered if str(word) and c.startswith(str(word))][:1]
    return f" (did you mean '{close[0]}'?)" if close else ""


def one_of(choices: Iterable[str], limit: int = 12) -> str:
    items = sorted(choices)
    shown = ", ".join(items[:limit])
    return shown + (f", … ({len(items)} in all)" if len(items) > limit else "")
