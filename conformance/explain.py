"""``python -m conformance explain CASE``: a case narrated step by step, for teaching.

For each step it says what goes in, what the spec demands of the outputs, and
why, quoting the requirement catalogue.
"""

from __future__ import annotations

import json
import textwrap

from conformance.cases import Case, CaseStep, Statistical
from conformance.monitors import monitors_for
from conformance.protocol import SERVICE_CONFIG_POLICY
from conformance.runner import describe_input
from spec.catalogue import CATALOGUE


def _endpoints(obj: dict[str, object]) -> str:
    return describe_input(obj).removeprefix("resolver_update ")


def narrate_input(obj: dict[str, object]) -> str:
    """One input in plain words."""
    kind = obj["type"]
    error = obj.get("error")
    because = ""
    if isinstance(error, dict):
        because = f", with error {error.get('code')}: {error.get('message', '')!r}"
    if kind == "resolver_update":
        count = len(obj["endpoints"])  # type: ignore[arg-type]
        text = f"The resolver sends an update with {count} endpoint(s): {_endpoints(obj)}"
        if obj.get("config") is not None:
            text += f", and the policy config {json.dumps(obj['config'])}"
        return text + "."
    if kind == "resolver_error":
        return f"The resolver fails: {obj['message']!r}."
    if kind == "subchannel_state":
        return f"The subchannel for {obj['subchannel']} reports {obj['state']}{because}."
    if kind == "health_state":
        return (
            f"The health of the subchannel for {obj['subchannel']} becomes {obj['state']}{because}."
        )
    if kind == "exit_idle":
        return "The channel asks the policy to leave IDLE."
    if kind == "close":
        return "The channel closes the policy."
    if kind == "pick":
        wfr = " (wait_for_ready)" if obj.get("wait_for_ready") else ""
        return f"The application starts RPC {obj['pick_id']}{wfr}; the channel asks the picker."
    if kind == "done":
        return f"RPC {obj['pick_id']} finishes{because}."
    if kind == "advance_time":
        return f"Time advances by {obj['by']}; timers due by then fire."
    if kind == "oob_load_report":
        return f"An out-of-band load report arrives on the subchannel for {obj['subchannel']}."
    return f"Input {kind}."


def _wrap(text: str, indent: str) -> str:
    return textwrap.fill(text, 96, initial_indent=indent, subsequent_indent=indent + "  ")


def _why(req_id: str, indent: str) -> list[str]:
    req = CATALOGUE.get(req_id)
    if req is None:
        return [f"{indent}{req_id}: (not in the catalogue)"]
    return [
        _wrap(f"{req.id} ({req.level.value}): {req.text}", indent),
        _wrap(f"source: {req.source}", indent + "  "),
    ]


def explain(case: Case) -> str:
    lines = [f"{case.id}: {case.title}"]
    if case.path is not None:
        lines.append(f"file: {case.path}")
    if case.description:
        lines.append("")
        lines.extend(textwrap.wrap(case.description, 96))
    lines.append("")
    config = "" if case.config is None else f", config {json.dumps(case.config)}"
    lines.append(f"Policy: {case.policy}{config}")
    ch = case.channel
    lines.append(
        f"Channel: subchannel profile {ch.profile.value!r}, client-side health checking "
        f"{'on' if ch.health_checking else 'off'}, random seed {ch.seed}"
    )
    caps = ", ".join(sorted(c.value for c in case.capabilities)) or "nothing beyond the policy"
    lines.append(f"The adapter must offer: {caps}")
    if case.written_for:
        chosen = ", ".join(f"{k} = {' or '.join(v)}" for k, v in case.written_for.items())
        lines.append(f"Written for implementations that declare: {chosen}")
    lines.append("")
    lines.append("Requirements checked:")
    for req in case.requirements:
        lines.extend(_why(req, "  "))
    number = 0  # steps as the file numbers them: a repeat block is one step
    for index, step in enumerate(case.steps):
        across = step.across
        if across is not None and step.repetition > 0:
            continue  # a repeat block is told once
        if across is None or step.position == 1:
            number += 1
        lines.append("")
        if across is not None and step.position == 1:
            lines.append(
                _wrap(
                    f"Step {number} repeats the {across.steps_per_repetition} steps below "
                    f"{across.repetitions} times; over the repetitions the spec demands "
                    f"{across.describe()}.",
                    "",
                )
            )
            lines.append("")
        label = number if across is None else f"{number}.{step.position}"
        lines.extend(_step(index, step, label, case.policy == SERVICE_CONFIG_POLICY))
    monitors = monitors_for(case.policy)
    lines.append("")
    judged = ", ".join(monitors.names)
    lines.append(_wrap(f"Every step is also judged by the spec monitors: {judged}.", ""))
    if monitors.note:
        lines.append(_wrap(f"(No policy monitor: {monitors.note}.)", ""))
    return "\n".join(lines) + "\n"


def _step(
    index: int, step: CaseStep, label: int | str | None = None, service_config: bool = False
) -> list[str]:
    text = narrate_input(step.input)
    if service_config:  # the resolver updates of service config cases carry service configs
        text = text.replace("the policy config", "the service config")
    if isinstance(step.expect, Statistical):
        text = text.replace(f"RPC {step.input['pick_id']}", f"{step.expect.samples} RPCs", 1)
    lines = [_wrap(f"Step {index + 1 if label is None else label}. {text}", "")]
    if step.expect is None:
        lines.append(
            _wrap("The case demands nothing specific; the monitors judge the outputs.", "  ")
        )
    else:
        lines.append(_wrap(f"The spec demands {step.expect.describe()}.", "  "))
    if step.note:
        lines.append(_wrap(f"Why: {step.note}", "  "))
    for req in step.requirements:
        lines.extend(_why(req, "    "))
    return lines
