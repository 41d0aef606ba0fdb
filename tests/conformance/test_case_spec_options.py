"""A case written for one behaviour the sources allow runs only where the adapter declares it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conformance import report
from conformance.cases import load_cases
from conformance.cli import main
from conformance.errors import WireError
from conformance.protocol import Capabilities
from conformance.results import Outcome
from conformance.runner import run_cases
from spec import options
from tests.conformance.helpers import A, in_process_refimpl, make_case, schema_errors, update

STEPS = [{"input": update(A)}]


@pytest.mark.req("CONF-4")
def test_a_case_runs_only_against_adapters_declaring_its_spec_options() -> None:
    case = make_case({"spec_options": {"pick_first.reresolution": "spec_text"}, "steps": STEPS})
    assert case.spec_options == (("pick_first.reresolution", "spec_text"),)
    same = Capabilities(
        policies=frozenset({case.policy}),
        spec_options=(("pick_first.reresolution", "spec_text"),),
    )
    other = Capabilities(
        policies=frozenset({case.policy}),
        spec_options=(("pick_first.reresolution", "grpc_go"),),
    )
    silent = Capabilities(policies=frozenset({case.policy}))
    assert same.missing_for(case) == []
    assert other.missing_for(case) == [
        "spec option pick_first.reresolution='spec_text' (it declares 'grpc_go')"
    ]
    # An adapter that declares nothing is judged by the option's default (the monitor's),
    # so it runs the cases written for the default and skips the others (issue 16).
    assert silent.missing_for(case) == []
    go_only = make_case({"spec_options": {"pick_first.reresolution": "grpc_go"}, "steps": STEPS})
    assert silent.missing_for(go_only) == [
        "spec option pick_first.reresolution='grpc_go' (it declares no value, default 'spec_text')"
    ]


@pytest.mark.req("CONF-4")
def test_the_reference_skips_a_case_written_for_grpc_go_behaviour() -> None:
    go_only = make_case({"spec_options": {"pick_first.reresolution": "grpc_go"}, "steps": STEPS})
    text = make_case({"spec_options": {"pick_first.reresolution": "spec_text"}, "steps": STEPS})
    results, _ = run_cases([go_only, text], in_process_refimpl)
    assert [r.outcome for r in results] == [Outcome.SKIPPED, Outcome.PASS]
    assert "pick_first.reresolution='grpc_go'" in results[0].message
    assert not results[0].unexpected


@pytest.mark.req("CONF-9")
@pytest.mark.parametrize(
    ("options", "problem"),
    [
        ({"reresolution": "grpc_go"}, "named '<policy>.<option>'"),
        ({"pick_first.reresolution": 3}, "expected a string"),
        (["pick_first.reresolution"], "expected an object"),
        ({"pick_first.reresolution": "sometimes"}, "'sometimes' is not one of spec_text"),
        ({"pick_first.reresolution": ["grpc_go"]}, "at least two distinct values"),
        ({"pick_first.reresolution": ["grpc_go", "grpc_go"]}, "at least two distinct values"),
        ({"pick_first.reresolution": ["grpc_go", 3]}, "expected a string"),
        ({"pick_first.reresolution": ["grpc_go", "never"]}, "'never' is not one of"),
    ],
)
def test_malformed_spec_options_are_refused_with_their_path(options: object, problem: str) -> None:
    with pytest.raises(WireError, match="spec_options") as info:
        make_case({"spec_options": options, "steps": STEPS})
    assert problem in str(info.value)
    assert "\n" not in str(info.value)  # one line (CONF-9)
    data = {"id": "selftest-bad", "title": "t", "requirements": ["LB-4"], "policy": "pick_first"}
    if "not one of" not in problem:  # the registry's values are the loader's to check
        assert schema_errors("case", {**data, "steps": STEPS, "spec_options": options}) != []


SEVERAL = {"pick_first.reresolution": ["grpc_go", "grpc_js"]}


def _declaring(value: str, policy: str) -> Capabilities:
    return Capabilities(
        policies=frozenset({policy}), spec_options=(("pick_first.reresolution", value),)
    )


@pytest.mark.req("CONF-4")
def test_a_case_may_hold_for_several_values_of_an_option() -> None:
    """Issue 14: a list names every value the case holds for; other values skip it."""
    case = make_case({"spec_options": SEVERAL, "steps": STEPS})
    assert case.spec_options == ()
    assert case.written_for == {"pick_first.reresolution": ("grpc_go", "grpc_js")}
    assert _declaring("grpc_go", case.policy).missing_for(case) == []
    assert _declaring("grpc_js", case.policy).missing_for(case) == []
    assert _declaring("spec_text", case.policy).missing_for(case) == [
        "spec option pick_first.reresolution='grpc_go' or 'grpc_js' (it declares 'spec_text')"
    ]
    # No declaration: the default (spec_text) is not among them.
    silent = Capabilities(policies=frozenset({case.policy}))
    assert silent.missing_for(case) == [
        "spec option pick_first.reresolution='grpc_go' or 'grpc_js' "
        "(it declares no value, default 'spec_text')"
    ]
    assert schema_errors("case", _file(SEVERAL)) == []


def _file(spec_options: object) -> dict[str, object]:
    return {
        "id": "selftest-several",
        "title": "t",
        "requirements": ["LB-4"],
        "policy": "pick_first",
        "steps": STEPS,
        "spec_options": spec_options,
    }


@pytest.mark.req("CONF-4")
def test_a_configurable_adapter_is_set_to_a_value_the_case_holds_for() -> None:
    case = make_case(
        {"spec_options": {"pick_first.selected_address_removed": ["goes_idle", "reconnects"]}}
        | {"steps": STEPS}
    )
    caps = Capabilities(
        policies=frozenset({case.policy}),
        spec_options=(("pick_first.selected_address_removed", "goes_idle"),),
        configurable_options=(
            ("pick_first.selected_address_removed", ("goes_idle", "reconnects")),
        ),
    )
    assert caps.options_for(case)["pick_first.selected_address_removed"] == "goes_idle"
    only_other = make_case(
        {"spec_options": {"pick_first.selected_address_removed": "reconnects"}, "steps": STEPS}
    )
    assert caps.options_for(only_other)["pick_first.selected_address_removed"] == "reconnects"


@pytest.mark.req("CONF-4")
def test_the_report_counts_skips_of_a_case_with_several_values() -> None:
    """A case skipped for a list of values is counted under the list, never invisibly."""
    several = make_case(
        {"spec_options": {"pick_first.reresolution": ["grpc_go", "grpc_js"]}, "steps": STEPS}
    )
    results, hello = run_cases([several], in_process_refimpl)
    assert [r.outcome for r in results] == [Outcome.SKIPPED]
    assert "pick_first.reresolution='grpc_go' or 'grpc_js'" in results[0].message
    table = report.skipped_by_spec_option(results, hello)
    assert table["pick_first.reresolution"] == {"grpc_go or grpc_js": 1}
    held = make_case(
        {"spec_options": {"pick_first.reresolution": ["grpc_go", "spec_text"]}, "steps": STEPS}
    )
    results, _ = run_cases([held], in_process_refimpl)
    assert [r.outcome for r in results] == [Outcome.PASS]  # the reference's spec_text is listed


@pytest.mark.req("CONF-4")
def test_the_report_counts_skips_per_spec_option() -> None:
    """Issue 14: skipping for a spec option is never invisible."""
    go_only = make_case({"spec_options": {"pick_first.reresolution": "grpc_go"}, "steps": STEPS})
    results, hello = run_cases([go_only, go_only], in_process_refimpl)
    table = report.skipped_by_spec_option(results, hello)
    assert table["pick_first.reresolution"] == {"grpc_go": 2}
    assert set(table) == set(options.OPTIONS)  # every option is shown, zero or not
    assert table["round_robin.idle_child"] == {}
    text = report.render_terminal(results, hello, 0.0)
    assert "spec_text: 2 skipped (2 for grpc_go)" in text
    assert report.to_json(results, hello, 0.0)["skipped_by_spec_option"][
        "pick_first.reresolution"
    ] == {"grpc_go": 2}


@pytest.mark.req("CONF-4")
def test_every_case_declares_only_registered_options_and_values() -> None:
    for case in load_cases():
        for key, values in case.written_for.items():
            assert set(values) <= set(options.option(key).values), (case.id, key, values)


@pytest.mark.req("CONF-9")
def test_a_bad_list_of_values_exits_2_with_one_line_naming_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = {**_file({"pick_first.reresolution": ["grpc_go", "sometimes"]}), "id": "pf-bad"}
    path = tmp_path / "pf-bad.json"
    path.write_text(json.dumps(bad))
    assert main(["list", "--cases", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "pf-bad.json" in err
    assert "'sometimes' is not one of spec_text" in err


def _backoff_steps(after: str) -> list[dict[str, object]]:
    """A subchannel fails, then its backoff ends in ``after`` (CONN-5 or CONN-10)."""
    failed = {"code": "UNAVAILABLE", "message": "refused"}
    return [
        {"input": update(A)},
        {"input": {"type": "subchannel_state", "subchannel": A, "state": "CONNECTING"}},
        {
            "input": {
                "type": "subchannel_state",
                "subchannel": A,
                "state": "TRANSIENT_FAILURE",
                "error": failed,
            }
        },
        {"input": {"type": "subchannel_state", "subchannel": A, "state": after}},
    ]


@pytest.mark.req("CONN-5", "CONN-10", "CONF-4")
def test_a_case_ending_a_backoff_holds_only_for_the_values_taking_that_edge() -> None:
    """subchannel.backoff_end is declared by the case's own inputs (issue 14)."""
    to_idle = make_case({"steps": _backoff_steps("IDLE")})
    assert to_idle.written_for == {"subchannel.backoff_end": ("idle", "connecting_if_requested")}
    retrying = make_case({"channel": {"profile": "seed"}, "steps": _backoff_steps("CONNECTING")})
    assert retrying.written_for == {
        "subchannel.backoff_end": ("connecting", "connecting_if_requested")
    }
    assert make_case({"steps": STEPS}).written_for == {}  # no backoff ends: every value
    # In the current profile TRANSIENT_FAILURE -> CONNECTING for an address is a new
    # subchannel for it (cases name subchannels by address), not a backoff's end.
    assert make_case({"steps": _backoff_steps("CONNECTING")}).written_for == {}
    java = Capabilities(
        policies=frozenset({to_idle.policy}),
        spec_options=(("subchannel.backoff_end", "connecting"),),
    )
    assert java.missing_for(to_idle) == [
        "spec option subchannel.backoff_end='idle' or 'connecting_if_requested' "
        "(it declares 'connecting')"
    ]
    assert Capabilities(policies=frozenset({to_idle.policy})).missing_for(to_idle) == []
    # A declaration narrows the inputs' values; one they contradict is refused.
    narrowed = make_case(
        {"spec_options": {"subchannel.backoff_end": "idle"}, "steps": _backoff_steps("IDLE")}
    )
    assert narrowed.written_for == {"subchannel.backoff_end": ("idle",)}
    with pytest.raises(WireError, match="end a backoff as only idle or connecting_if_requested"):
        make_case(
            {
                "spec_options": {"subchannel.backoff_end": "connecting"},
                "steps": _backoff_steps("IDLE"),
            }
        )


@pytest.mark.req("CONN-5", "CONF-4")
def test_the_reference_runs_a_case_for_any_backoff_end() -> None:
    """The reference plays no subchannel of its own: it runs every case, set per case."""
    for profile, after, chosen in (
        ("current", "IDLE", "idle"),
        ("seed", "CONNECTING", "connecting"),
    ):
        case = make_case({"channel": {"profile": profile}, "steps": _backoff_steps(after)})
        results, hello = run_cases([case], in_process_refimpl)
        assert [r.outcome for r in results] == [Outcome.PASS], results[0].message
        assert hello is not None
        assert hello.capabilities.options_for(case)["subchannel.backoff_end"] == chosen
