"""Fuzzing the API with schemathesis, from its own OpenAPI document (shared by the test and the long run).

Every operation is tried with and without credentials, with data that fits its schema (positive) and
data that does not (negative). Each response must: not be a 5xx, have a documented status, a documented
content type, and a body that matches the documented schema.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import hypothesis
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.core.failures import FailureGroup

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]

# Operations left out of fuzzing, each with its reason.
EXCLUDED: dict[str, str] = {}


@dataclass
class Outcome:
    requests: int = 0
    operations: int = 0
    failures: dict[str, list[str]] = field(default_factory=dict)

    def report(self) -> str:
        lines = [f"{self.operations} operation runs, {self.requests} requests, {len(self.failures)} failing"]
        for label, messages in sorted(self.failures.items()):
            lines.append(f"FAIL {label}")
            lines.extend("    " + line for message in messages for line in message.splitlines()[:12])
        return "\n".join(lines)


def _order(operation: Any) -> tuple[int, str]:
    """Deletions last, so they do not take away the rows (and tokens) the others would hit."""
    return (1 if operation.method.upper() == "DELETE" else 0, operation.label)


def fuzz(
    document: dict[str, Any],
    base_url: str,
    *,
    token: str,
    max_examples: int,
    modes: Iterable[GenerationMode] = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE),
    seed: int | None = 0,
    shard: tuple[int, int] = (0, 1),
    log: Callable[[str], None] | None = None,
) -> Outcome:
    """Fuzz every operation of `document` against the server at `base_url`, each case sent with `token`
    and without credentials; `seed` None: random; `shard` (i, n): only every n-th operation from the i-th."""
    schema = schemathesis.openapi.from_dict(document)
    outcome = Outcome()
    session = requests.Session()
    operations = sorted((result.ok() for result in schema.get_all_operations()), key=_order)
    for operation in operations[shard[0] :: shard[1]]:
        if operation.label in EXCLUDED:
            continue
        for mode in modes:
            started, before = time.monotonic(), outcome.requests
            messages = _fuzz_operation(operation, mode, base_url, session, token, max_examples, seed, outcome)
            outcome.operations += 1
            label = f"{operation.label} [{mode.value}]"
            if messages:
                outcome.failures[label] = messages
            if log is not None:
                took = time.monotonic() - started
                status = "FAIL" if messages else "ok"
                log(f"{status:4} {label}: {outcome.requests - before} requests in {took:.2f}s")
    return outcome


def _fuzz_operation(
    operation: Any,
    mode: GenerationMode,
    base_url: str,
    session: requests.Session,
    token: str,
    max_examples: int,
    seed: int | None,
    outcome: Outcome,
) -> list[str]:
    """Up to `max_examples` cases of one operation, each sent with and without credentials; the first
    three distinct failures."""
    messages: list[str] = []
    strategy = operation.as_strategy(generation_mode=mode)

    @settings(
        max_examples=max_examples,
        derandomize=False,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],  # no shrinking: report, do not minimise
        suppress_health_check=list(HealthCheck),
    )
    @given(data=st.data())
    def run(data: st.DataObject) -> None:
        case = data.draw(strategy)
        generated = {k: v for k, v in (case.headers or {}).items() if k.lower() != "authorization"}
        for who, headers in (("token", {"Authorization": f"token {token}"}), ("anonymous", {})):
            case.headers = dict(generated)
            outcome.requests += 1
            try:
                case.call_and_validate(base_url=base_url, session=session, headers=headers, checks=CHECKS)
            except (FailureGroup, Exception) as error:  # the checks that failed, or a transport error
                message = f"[{who}] {error}\n    reproduce: {case.as_curl_command(headers=headers)}"
                if len(messages) < 3 and message not in messages:
                    messages.append(message)

    if seed is not None:
        run = hypothesis.seed(seed)(run)
    with contextlib.suppress(Unsatisfiable):  # nothing to break: negative data for an operation without input
        run()
    return messages
