import itertools
import os
from pathlib import Path

import pytest

from shale_cluster import SHALE, Node

_subnets = itertools.count(10)


@pytest.fixture
def cluster(tmp_path: Path):
    """Makes nodes on a fresh 127.0.N.x block per test; stops them all after."""
    if not os.access(SHALE, os.X_OK):
        pytest.fail(f"no shale binary at {SHALE}: build first (make test does)")
    subnet = next(_subnets)
    nodes: list[Node] = []

    def make(index: int, **kwargs) -> Node:
        node = Node(tmp_path, f"127.0.{subnet}.{index}", **kwargs)
        nodes.append(node)
        return node

    yield make
    for node in nodes:
        node.kill()
