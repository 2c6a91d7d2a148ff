"""Runs a composite action's steps locally, as the Actions runner would, for tests/test_action.py.

Only what escapelint's action.yml uses: `run` steps (bash, `env`, `working-directory`, `if`,
`continue-on-error`, outputs through $GITHUB_OUTPUT), `uses` steps recorded with their evaluated
`with` (not run: the test says what they would output), and expressions over inputs, github,
runner and steps with `==`, `!=`, `&&`, `||`, `!`, `always()`, `success()`, `failure()` and
`format()`. Anything else is an error, so a construct this runner does not know fails the test
instead of being misread.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import yaml

_TOKEN = re.compile(r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<op>==|!=|&&|\|\||!|\(|\)|,)|(?P<name>[A-Za-z_][A-Za-z0-9_.-]*))")


class Expression:
    """A `${{ }}` expression, evaluated as GitHub does for the subset above (values are strings)."""

    def __init__(self, text: str, context: dict, status: str) -> None:
        self.tokens = self._tokens(text)
        self.at = 0
        self.context = context
        self.status = status  # "success" or "failure": the job's so far

    @staticmethod
    def _tokens(text: str) -> list[tuple[str, str]]:
        tokens, at = [], 0
        while at < len(text.rstrip()):
            match = _TOKEN.match(text, at)
            if match is None:
                raise ValueError(f"unsupported expression at {text[at:]!r}")
            kind = match.lastgroup
            tokens.append((kind, match.group(kind)))
            at = match.end()
        return tokens

    def value(self) -> str:
        result = self._or()
        if self.at != len(self.tokens):
            raise ValueError(f"unexpected {self.tokens[self.at]}")
        return result

    def _peek(self) -> str | None:
        return self.tokens[self.at][1] if self.at < len(self.tokens) else None

    def _take(self) -> tuple[str, str]:
        token = self.tokens[self.at]
        self.at += 1
        return token

    def _or(self):
        left = self._and()
        while self._peek() == "||":
            self._take()
            right = self._and()
            left = left if truthy(left) else right
        return left

    def _and(self):
        left = self._compare()
        while self._peek() == "&&":
            self._take()
            right = self._compare()
            left = right if truthy(left) else left
        return left

    def _compare(self):
        left = self._unary()
        while self._peek() in ("==", "!="):
            op = self._take()[1]
            right = self._unary()
            same = str(left).lower() == str(right).lower()
            left = same if op == "==" else not same
        return left

    def _unary(self):
        if self._peek() == "!":
            self._take()
            return not truthy(self._unary())
        if self._peek() == "(":
            self._take()
            inner = self._or()
            assert self._take()[1] == ")"
            return inner
        kind, text = self._take()
        if kind == "str":
            return text[1:-1].replace("''", "'")
        if kind != "name":
            raise ValueError(f"unexpected {text!r}")
        if self._peek() == "(":
            self._take()
            args = []
            while self._peek() != ")":
                args.append(self._or())
                if self._peek() == ",":
                    self._take()
            self._take()
            return self._call(text, args)
        if text in ("true", "false"):
            return text == "true"
        return self._lookup(text)

    def _call(self, name: str, args: list):
        if name == "always":
            return True
        if name == "success":
            return self.status == "success"
        if name == "failure":
            return self.status == "failure"
        if name == "format":
            return re.sub(r"\{(\d+)\}", lambda m: str(args[1 + int(m.group(1))]), str(args[0]))
        raise ValueError(f"unsupported function {name}()")

    def _lookup(self, dotted: str):
        value = self.context
        for part in dotted.split("."):
            if not isinstance(value, dict):
                raise ValueError(f"{dotted}: {part} of a non-object")
            value = value.get(part, "")
        return value


def truthy(value) -> bool:
    return value not in ("", False, None, 0)


def evaluate(text: str, context: dict, status: str = "success") -> str:
    """A YAML value with `${{ }}` in it: the expressions replaced by their values."""
    def one(match):
        value = Expression(match.group(1), context, status).value()
        return "true" if value is True else "false" if value is False else str(value)

    return re.sub(r"\$\{\{(.*?)\}\}", one, str(text))


def condition(text: str | None, context: dict, status: str) -> bool:
    if text is None:
        return status == "success"
    expression = str(text).strip()
    if expression.startswith("${{"):
        expression = expression[3:].rstrip("}").rstrip("}")
    uses_status = re.search(r"\b(always|success|failure|cancelled)\(", expression)
    value = Expression(expression, context, status).value()
    return truthy(value) if uses_status else (status == "success" and truthy(value))


def read_outputs(path: Path) -> dict[str, str]:
    outputs, lines = {}, path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    at = 0
    while at < len(lines):
        line = lines[at]
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delimiter = line.split("<<", 1)
            end = lines.index(delimiter, at + 1)
            outputs[name] = "\n".join(lines[at + 1 : end])
            at = end + 1
            continue
        if "=" in line:
            name, value = line.split("=", 1)
            outputs[name] = value
        at += 1
    return outputs


@dataclass
class StepRun:
    id: str
    name: str
    ran: bool
    returncode: int | None = None
    stdout: str = ""
    stderr: str = ""
    outputs: dict = field(default_factory=dict)
    uses: str | None = None
    with_: dict = field(default_factory=dict)


@dataclass
class ActionRun:
    steps: list[StepRun]
    status: str  # "success" or "failure"

    def step(self, id_or_name: str) -> StepRun:
        return next(s for s in self.steps if id_or_name in (s.id, s.name))

    @property
    def log(self) -> str:
        return "".join(s.stdout + s.stderr for s in self.steps)


def run_action(
    action: Path,
    *,
    inputs: dict[str, str],
    github: dict,
    workspace: Path,
    env: dict[str, str],
    temp: Path,
    given: dict[str, dict[str, str]] | None = None,
) -> ActionRun:
    """Run `action` (its action.yml) with `inputs`. `given` maps a step id (or a `uses` action name
    without its version) to the outputs it is taken to produce instead of being run."""
    document = yaml.safe_load((action / "action.yml").read_text(encoding="utf-8"))
    declared = document.get("inputs", {})
    unknown = set(inputs) - set(declared)
    assert not unknown, f"inputs not declared by the action: {unknown}"
    values = {name: str(spec.get("default", "")) for name, spec in declared.items()}
    values.update(inputs)
    context = {"github": github, "runner": {"temp": str(temp)}, "steps": {}}
    context["inputs"] = {name: evaluate(value, context) for name, value in values.items()}
    given = given or {}
    status, runs = "success", []
    for number, step in enumerate(document["runs"]["steps"]):
        step_id = step.get("id", f"__{number}")
        name = step.get("name", step_id)
        if not condition(step.get("if"), context, status):
            runs.append(StepRun(step_id, name, ran=False))
            context["steps"][step_id] = {"outputs": {}, "outcome": "skipped"}
            continue
        uses = step.get("uses")
        if uses is not None or step_id in given:
            key = step_id if step_id in given else (uses or "").split("@")[0]
            with_ = {k: evaluate(v, context, status) for k, v in (step.get("with") or {}).items()}
            outputs = dict(given.get(key, {}))
            runs.append(StepRun(step_id, name, ran=False, outputs=outputs, uses=uses, with_=with_))
            context["steps"][step_id] = {"outputs": outputs, "outcome": "success"}
            continue
        assert step.get("shell") == "bash", f"{name}: composite run steps must name their shell"
        output_file = temp / f"output-{number}"
        output_file.write_text("")
        step_env = dict(env)
        step_env.update({k: evaluate(v, context, status) for k, v in (step.get("env") or {}).items()})
        step_env.update(
            GITHUB_OUTPUT=str(output_file), GITHUB_ACTION_PATH=str(action), RUNNER_TEMP=str(temp),
            GITHUB_WORKSPACE=str(workspace),
        )  # fmt: skip
        cwd = workspace / evaluate(step.get("working-directory", "."), context, status)
        done = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],
            cwd=cwd, env=step_env, capture_output=True, text=True, check=False,
        )  # fmt: skip
        outputs = read_outputs(output_file)
        runs.append(StepRun(step_id, name, True, done.returncode, done.stdout, done.stderr, outputs))
        failed = done.returncode != 0
        context["steps"][step_id] = {"outputs": outputs, "outcome": "failure" if failed else "success"}
        if failed and not step.get("continue-on-error", False):
            status = "failure"
    return ActionRun(runs, status)
