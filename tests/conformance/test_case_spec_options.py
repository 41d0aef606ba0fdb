"""A case written for one behaviour the sources allow runs only where the adapter declares it."""

from __future__ import annotations

import pytest

from conformance import report
from conformance.cases import load_cases
from conformance.errors import WireError
from conformance.protocol import Capabilities
from conformance.results import Outcome
from conformance.runner import run_cases
from spec import options
from tests.conformance.helpers import A, in_process_refimpl, make_case, update

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
    ],
)
def test_malformed_spec_options_are_refused_with_their_path(options: object, problem: str) -> None:
    with pytest.raises(WireError, match="spec_options") as info:
        make_case({"spec_options": options, "steps": STEPS})
    assert problem in str(info.value)


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
        for key, value in case.spec_options:
            assert value in options.option(key).values, (case.id, key, value)
