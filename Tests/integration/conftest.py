import itertools
import os
from pathlib import Path

import pytest

from shale_cluster import SHALE, Node, remove_if_all_passed

_subnets = itertools.count(10)


def _cluster(root: Path):
    if not os.access(SHALE, os.X_OK):
        pytest.fail(f"no shale binary at {SHALE}: build first (make test does)")
    subnet = next(_subnets)
    nodes: list[Node] = []

    def make(index: int, **kwargs) -> Node:
        node = Node(root, f"127.0.{subnet}.{index}", **kwargs)
        nodes.append(node)
        return node

    return make, nodes


@pytest.fixture
def cluster(tmp_path: Path):
    """Makes nodes on a fresh 127.0.N.x block per test; stops them all after."""
    make, nodes = _cluster(tmp_path)
    yield make
    for node in nodes:
        node.kill()


@pytest.fixture(scope="module")
def cluster_module(request, tmp_path_factory):
    """As `cluster`, shared by a module's tests (one set of nodes, started once)."""
    root = tmp_path_factory.mktemp("module")
    make, nodes = _cluster(root)
    yield make
    for node in nodes:
        node.kill()
    remove_if_all_passed(request, root)
