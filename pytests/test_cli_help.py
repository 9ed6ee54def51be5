"""Every node of the `lakeshop` parser tree explains itself: the walk finds each command and
sub-command (none listed by hand, so a new one is covered the day it is added), asks it for
`--help` in process, and holds it to a description and a help text on every option. No server.
"""

from __future__ import annotations

import argparse
import contextlib
import io
from collections.abc import Iterator

import pytest

from lakeshop.cli import build_parser


def walk(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], argparse.ArgumentParser]]:  # fmt: skip
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                yield from walk(child, (*path, name))


NODES = list(walk(build_parser()))


def test_the_walk_finds_the_whole_tree() -> None:
    paths = {" ".join(p) for p, _ in NODES}
    # a few known leaves, so a walk that stopped early fails here
    assert {"ingest mysql", "ingest api", "shop simulate", "lake copy"} <= paths, sorted(paths)
    assert len(NODES) >= 30, len(NODES)


@pytest.mark.parametrize(
    ("path", "parser"), NODES, ids=[" ".join(p) or "lakeshop" for p, _ in NODES]
)
def test_every_node_of_the_parser_explains_itself(path: tuple[str, ...], parser: argparse.ArgumentParser) -> None:  # fmt: skip
    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(SystemExit) as done:
        build_parser().parse_args([*path, "--help"])
    assert done.value.code == 0
    text = out.getvalue()
    assert text.startswith("usage: lakeshop"), text[:200]
    assert parser.description or parser.epilog, f"`lakeshop {' '.join(path)}` has no description"
    undocumented = [
        "/".join(a.option_strings) or a.dest
        for a in parser._actions
        if not isinstance(a, (argparse._HelpAction, argparse._SubParsersAction))
        and (a.help is None or not str(a.help).strip())
    ]
    assert not undocumented, f"`lakeshop {' '.join(path)}`: options without help: {undocumented}"
