"""Requirements of the conformance suite itself: cases, the adapter protocol, the runner.

These are obligations on the suite and on adapters, so that a verdict means the
same for every implementation; ``conformance/PROTOCOL.md`` is their full text.
The designs they borrow are named in each source.
"""

from __future__ import annotations

from spec.catalogue.model import Level, Requirement

_PROTOCOL = "conformance/PROTOCOL.md"
_BOWTIE = "Bowtie's harness protocol (bowtie/schemas/io/commands/run.json: skipped, errored)"

M, S = Level.MUST, Level.SHOULD

REQUIREMENTS: tuple[Requirement, ...] = (
    Requirement(
        "CONF-1",
        M,
        "A case names each subchannel by an address, and an address that names no live "
        "subchannel or several makes the case ERROR with a message naming it.",
        _PROTOCOL + " (Cases: subchannels by address)",
    ),
    Requirement(
        "CONF-2",
        M,
        "Runner and adapter agree on the protocol version in the handshake, and any other "
        "version makes the case ERROR.",
        _PROTOCOL + " (Handshake); " + _BOWTIE,
    ),
    Requirement(
        "CONF-3",
        M,
        "An adapter that crashes, stays silent past the per-step timeout or writes a malformed "
        "line makes the case ERROR with its stderr tail, and the next case gets a fresh process.",
        _PROTOCOL + " (Failures); " + _BOWTIE,
    ),
    Requirement(
        "CONF-4",
        M,
        "A case whose policy, profile or capability the adapter does not offer is SKIPPED, "
        "never run.",
        _PROTOCOL + " (Capabilities); test262 INTERPRETING.md (features); " + _BOWTIE,
    ),
    Requirement(
        "CONF-5",
        M,
        "A case passes only when every step meets its expectation and the spec monitors report "
        "no violation, and otherwise fails at the first step that does not.",
        _PROTOCOL + " (Verdicts)",
    ),
    Requirement(
        "CONF-6",
        M,
        "A failure or error missing from the expectations file, or a pass of a case listed "
        "there, is unexpected, and any unexpected result makes the run exit non-zero.",
        _PROTOCOL + " (Expectations file); WPT expectation metadata; h2spec exit status",
    ),
    Requirement(
        "CONF-7",
        M,
        "A statistical expectation holds when, over the case's sample count, each outcome's "
        "share lies within the case's tolerance of its stated fraction.",
        _PROTOCOL + " (Expectations: statistical)",
    ),
    Requirement(
        "CONF-8",
        M,
        "A case ID is lower-case words joined by hyphens, begins with its area's prefix, "
        "matches its file name, is unique, and never changes once published.",
        _PROTOCOL + " (Case IDs); JSON-Schema-Test-Suite (cases as plain data)",
    ),
    Requirement(
        "CONF-9",
        M,
        "Every case file and protocol message validates against its JSON Schema, and the codec "
        "reads back every spec input and output it writes.",
        _PROTOCOL + " (Schemas); conformance/schema/",
    ),
    Requirement(
        "CONF-10",
        M,
        "An implementation handles every input sequence a channel could legally produce "
        "without crashing, hanging or refusing an input.",
        _PROTOCOL + " (Fuzz mode)",
    ),
    Requirement(
        "CONF-11",
        S,
        "A failing fuzz sequence is written out as a case; against an adapter that declares "
        "seedable_random it is shrunk first and reproduces the failure, against any other it "
        "is written as found and said to be unshrunk.",
        _PROTOCOL + " (Fuzz mode); Hypothesis shrinking",
    ),
)
