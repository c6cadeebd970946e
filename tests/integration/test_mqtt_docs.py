"""docs/mqtt.md cannot drift from the code: every topic the daemon publishes or subscribes to, and every
reason it counts a refused message under, is documented (and nothing documented is gone); the example
payloads of the inbound topics pass the daemon's own validation."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest

from devices.contracts import WindowScreen
from devices.mqtt import payloads

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "mqtt.md"
PAYLOADS = ROOT / "devices" / "mqtt" / "payloads.py"
LINK = ROOT / "devices" / "mqtt" / "link.py"
HUB = ROOT / "hallctl" / "hub" / "hub.py"  # what the daemon publishes and subscribes to
INBOUND = ROOT / "hallctl" / "hub" / "inbound.py"  # where device messages in are refused and counted
RATINGS = ROOT / "hallctl" / "core" / "ratings.py"
LINK_CALLS = ("link.publish", "link.set_retained", "self._publish")  # how the hub hands the link a topic


def shape(topic: str) -> str:
    """A topic with its variable levels made alike: ``window/{window_id}/display``, ``window/+/display``
    and ``window/{n}/display`` are all ``window/*/display``."""
    variable = re.compile(r"\+|\{[^}]*\}")
    return "/".join("*" if variable.fullmatch(part) else part for part in topic.split("/"))


def written_out(node: ast.expr) -> str | None:
    """A string literal or f-string as source text (``f"voice/{zone}"`` -> ``voice/{zone}``), else None."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        parts = []
        for value in node.values:
            if isinstance(value, ast.Constant):
                parts.append(str(value.value))
            elif isinstance(value, ast.FormattedValue):
                parts.append("{" + ast.unparse(value.value) + "}")
        return "".join(parts)
    return None


def code_topics() -> dict[str, str]:
    """Topic shape -> where the code uses it."""
    found: dict[str, str] = {}
    # The hub: what it publishes and sets retained through the link, and what it subscribes to; and the
    # replies its inbound side sends to call keypads.
    for path in (HUB, INBOUND):
        name = path.name
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and ast.unparse(node.func).endswith(LINK_CALLS):
                if isinstance(node.args[0], ast.Name) and node.args[0].id == "topic":
                    continue  # hub._publish passes on what inbound.py names (checked there)
                topic = written_out(node.args[0])
                assert topic is not None, f"{name}:{node.lineno}: write the topic out, so it can be checked"
                found[shape(topic)] = f"{name}:{node.lineno}"
            if isinstance(node, ast.keyword) and node.arg == "subscriptions":
                assert isinstance(node.value, ast.Tuple), f"{name}:{node.value.lineno}: a tuple of topics"
                for element in node.value.elts:
                    topic = written_out(element)
                    assert topic is not None, f"{name}:{element.lineno}: write the topic out"
                    found[shape(topic)] = f"{name}:{element.lineno}"
    # The link: the topics it builds under the root itself (the daemon's status and will).
    for node in ast.walk(ast.parse(LINK.read_text(encoding="utf-8"))):
        if isinstance(node, ast.JoinedStr):
            text = written_out(node) or ""
            if text.startswith("{self.root}/") and "{topic}" not in text:
                found[shape(text.removeprefix("{self.root}/"))] = f"link.py:{node.lineno}"
    # The payloads: each parser names its topic in its docstring (``keypad/{n}/rating``).
    for node in ast.walk(ast.parse(PAYLOADS.read_text(encoding="utf-8"))):
        if isinstance(node, ast.FunctionDef) and (doc := ast.get_docstring(node)):
            for topic in re.findall(r"``([a-z]+(?:/[a-z{}_+]+)+)``", doc):
                found[shape(topic)] = f"payloads.py:{node.lineno}"
    return found


def documented_topics() -> set[str]:
    return {shape(t) for t in re.findall(r"`hallctl/\{hall\}/([^`\s]+)`", DOC.read_text(encoding="utf-8"))}


def test_every_topic_in_the_code_is_documented() -> None:
    topics = code_topics()
    # The extraction itself must see the contract's topics, or this test would pass on nothing.
    for expected in ("status", "board", "window/*/display", "voice/*", "keypad/*/rating", "terminal/*/key"):
        assert expected in topics, f"the test no longer finds {expected} in the code: fix code_topics()"
    missing = {t: where for t, where in topics.items() if t not in documented_topics()}
    assert not missing, f"docs/mqtt.md does not document these topics (as `hallctl/{{hall}}/…`): {missing}"


def test_every_documented_topic_is_still_used() -> None:
    gone = documented_topics() - set(code_topics())
    assert not gone, f"docs/mqtt.md documents topics the code no longer uses: {sorted(gone)}"


def string_args(path: Path, call: str, *, within: str | None = None) -> set[str]:
    """The literal first arguments of every call to ``call`` in the file (or in one function of it)."""
    tree: ast.AST = ast.parse(path.read_text(encoding="utf-8"))
    if within is not None:
        tree = next(n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name == within)
    return {
        n.args[0].value
        for n in ast.walk(tree)
        if isinstance(n, ast.Call)
        and ast.unparse(n.func).split(".")[-1] == call
        and n.args
        and isinstance(n.args[0], ast.Constant)
        and isinstance(n.args[0].value, str)
    }


def counted_reasons() -> set[str]:
    reasons = string_args(PAYLOADS, "PayloadError") | string_args(INBOUND, "PayloadError")
    hub = INBOUND.read_text(encoding="utf-8")
    reasons |= set(re.findall(r'self\.rejected\["([a-z_]+)"\]', hub))
    # A rating the hall refuses is counted as rating_{code} of the refusal in ratings.rate.
    assert 'self.rejected[f"rating_{rated.reason}"]' in hub, "the hub counts refused ratings differently"
    refusals = {
        code for kind in ("Conflict", "Invalid") for code in string_args(RATINGS, kind, within="rate")
    }
    assert refusals, "the test no longer finds the refusals of ratings.rate"
    return reasons | {f"rating_{code}" for code in refusals}


def test_every_refusal_reason_is_documented() -> None:
    reasons = counted_reasons()
    assert {"bad_json", "not_bound", "rating_already_rated"} <= reasons, "fix counted_reasons()"
    text = DOC.read_text(encoding="utf-8")
    missing = sorted(r for r in reasons if f"`{r}`" not in text)
    assert not missing, f"docs/mqtt.md does not explain these refusal reasons: {missing}"


def examples(heading: str) -> list[str]:
    """The ```json blocks of the section ``### {heading}``."""
    sections = re.split(r"^### ", DOC.read_text(encoding="utf-8"), flags=re.MULTILINE)
    section = next((s for s in sections if s.startswith(heading + "\n")), None)
    assert section is not None, f"docs/mqtt.md has no section ### {heading}"
    found = re.findall(r"```json\n(.*?)```", section, flags=re.DOTALL)
    assert found, f"### {heading} has no example"
    return found


@pytest.mark.parametrize(
    "heading",
    ["Window display", "Hall board", "Announcement", "Rating press", "Call-keypad key", "Call-keypad reply"],
)
def test_every_example_payload_is_json_of_version_1(heading: str) -> None:
    for example in examples(heading):
        assert json.loads(example)["v"] == payloads.VERSION


def test_the_inbound_examples_pass_the_daemons_validation() -> None:
    for example in examples("Rating press"):
        assert payloads.parse_rating("keypad/3/rating", example.encode()).device == "kp-3"
    for example in examples("Call-keypad key"):
        assert payloads.parse_key("terminal/3/key", example.encode()).key == "call"


def test_the_display_example_has_the_fields_the_daemon_sends() -> None:
    sent = json.loads(payloads.display(WindowScreen(1, "calling", "A0001", "A0001 请到1号窗口"), "now"))
    (example,) = examples("Window display")
    assert set(json.loads(example)) == set(sent)
