"""Classify one line of build output: its position prefix and its message, memoized.

This is the hot path: the standard library alone prints about 2.2 million lines under `-m=2`, of which
only about 5 % are distinct once positions are stripped. Positions are split off with the grammar's own
POSITION terminal (compiled once), message bodies are parsed by the grammar once each and cached, and
the "at POS" suffix of flow steps is split off before the cache lookup so that steps share entries.
Explanation lines repeat the position of their header, so a line that starts with the previous line's
prefix skips the position regex altogether.
"""

from __future__ import annotations

import re

from escapelint.events import FlowStep, Position
from escapelint.read.matchers import matcher_tables, rule_matchers
from escapelint.read.messages import (
    Message,
    MessageReductions,
    MessageSyntaxError,
    PackageHeader,
    StepLine,
    parse_message,
    parse_position,
    parse_tool_line,
)

_STEP_PREFIX = "    from "
_STEP_SUFFIX = ") at "

#: How many distinct message bodies to remember before starting afresh. The standard library needs
#: about 110 000; the bound keeps memory flat on inputs with endless unique lines.
MESSAGE_CACHE_LIMIT = 400_000
#: Likewise for distinct positions within one package.
POSITION_CACHE_LIMIT = 200_000


class Unrecognized:
    """Marker for a line that is not a sentence of the grammar."""

    __slots__ = ()


UNRECOGNIZED = Unrecognized()


class LineClassifier:
    """Turns a line (without its line end) into `(position, message)`.

    `message` is a messages.* object, a FlowStep for "from ... at POS" lines, None for a blank line,
    or UNRECOGNIZED. Position caches are per package (`start_package`), message caches per input.
    """

    def __init__(self) -> None:
        # The grammar's matchers, from tables kept between runs: Lark is imported only when a line
        # needs its parser (matchers.py; issue 11: start-up costs).
        tables = matcher_tables()
        pattern = tables.position
        self._prefix = re.compile(f"({pattern}): ")
        self._position = re.compile(pattern)
        reductions = MessageReductions()
        self._matchers = rule_matchers(list(tables.rules), reductions)
        self._pattern_matchers = tables.patterns.matchers(reductions)
        self._tool_matchers = tables.tool_patterns.matchers(reductions)
        self._messages: dict[str, Message | Unrecognized] = {}
        self._step_templates: dict[str, StepLine | Unrecognized] = {}
        self._positions: dict[str, Position] = {}
        self._last_prefix = "\n"  # never the start of a line
        self._last_position: Position | None = None

    def start_package(self) -> None:
        """Forget per-package positions: they rarely repeat across packages and would pile up.

        The last prefix goes too, so that a package reads the same whatever came before it.
        """
        self._positions = {}
        self._last_prefix = "\n"
        self._last_position = None

    def classify(self, text: str) -> tuple[Position | None, Message | FlowStep | Unrecognized | None]:
        prefix = self._last_prefix
        if text.startswith(prefix):
            position = self._last_position
            body = text[len(prefix) :]
        else:
            match = self._prefix.match(text)
            if match is None:
                return None, self._bare(text)
            position_text = match.group(1)
            position = self._positions.get(position_text)
            if position is None:
                position = self._remember_position(position_text)
            end = match.end()
            self._last_prefix = text[:end]
            self._last_position = position
            body = text[end:]
        if body.startswith(_STEP_PREFIX):
            return position, self.step(body)
        return position, self.message(body)

    @property
    def last_prefix(self) -> str:
        """The position prefix ("path:line:col: ") of the last located line classified."""
        return self._last_prefix

    def message(self, body: str) -> Message | Unrecognized:
        """The message of a body that follows a position prefix."""
        message = self._messages.get(body)
        if message is None:
            message = self._remember(body, self._parse(body, "message"))
        return message

    def body(self, text: str) -> str:
        """The text after a line's position prefix (the whole line when it has none)."""
        match = self._prefix.match(text)
        return text if match is None else text[match.end() :]

    def _bare(self, text: str) -> Message | Unrecognized | None:
        """A line without a position: blank, `go build`'s own line, or a compiler message it could not place."""
        if not text.strip(" \t"):  # str.strip() would also take \x1c-\x1f, \v, \f: those are content
            return None
        message = self._messages.get(text)
        if message is None:
            if text.startswith("# ") or text.startswith("\t"):
                message = self._parse(text, "tool_line")
            else:
                message = self._parse(text, "message")
                if message is UNRECOGNIZED:
                    message = self._parse(text, "tool_line")
            # "# pkg" lines are unique per package: no point remembering them.
            if isinstance(message, PackageHeader):
                return message
            message = self._remember(text, message)
        return message

    def step(self, body: str) -> FlowStep | Unrecognized:
        """A "    from EXPR (REASON) at POS" body as a FlowStep."""
        cut = body.rfind(_STEP_SUFFIX)
        if cut < 0:
            return UNRECOGNIZED
        at_text = body[cut + len(_STEP_SUFFIX) :]
        at = self._positions.get(at_text)
        if at is None:
            if self._position.fullmatch(at_text) is None:
                return self._step_split_early(self.message(body), body)
            at = self._remember_position(at_text)
        key = body[: cut + 1]
        template = self._step_templates.get(key)
        if template is None:
            # Parse the whole line once, position included, so the grammar validates all of it.
            template = self._parse(body, "message")
            if not isinstance(template, StepLine):
                template = UNRECOGNIZED
            self._step_templates[key] = template
        if template is UNRECOGNIZED:
            return UNRECOGNIZED
        if len(key) != len(_STEP_PREFIX) + len(template.expr) + len(template.reason) + 3:
            return self._step_split_early(template, body)
        return FlowStep(template.expr, template.reason, at)

    def _step_split_early(self, message: Message | Unrecognized, body: str) -> FlowStep | Unrecognized:
        """A step the grammar split before its last ") at ": its path holds ") at " (never in real output)."""
        if not isinstance(message, StepLine):
            return UNRECOGNIZED
        start = len(_STEP_PREFIX) + len(message.expr) + len(message.reason) + 2 + len(_STEP_SUFFIX)
        return FlowStep(message.expr, message.reason, parse_position(body[start:]))

    def _parse(self, text: str, start: str) -> Message | Unrecognized:
        if start == "message":
            for matcher in self._matchers.get(text[:4], ()):
                if text.startswith(matcher.keyword):
                    message = matcher.match(text)
                    if message is not None:
                        return message
            message = self._pattern_matchers.match(text)
            if message is not None:
                return message
        else:
            message = self._tool_matchers.match(text)
            if message is not None:
                return message
        try:
            if start == "message":
                return parse_message(text)
            return parse_tool_line(text)
        except MessageSyntaxError:
            return UNRECOGNIZED

    def _remember_position(self, text: str) -> Position:
        if len(self._positions) >= POSITION_CACHE_LIMIT:
            self._positions = {}
        position = self._positions[text] = parse_position(text)
        return position

    def _remember(self, body: str, message: Message | Unrecognized) -> Message | Unrecognized:
        if len(self._messages) >= MESSAGE_CACHE_LIMIT:
            self._messages.clear()
            self._step_templates.clear()
        self._messages[body] = message
        return message
