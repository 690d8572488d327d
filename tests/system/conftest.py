import os
import sys

sys.path.insert(0, os.path.dirname(__file__))

import pytest  # noqa: E402
from capos_qemu import Machine  # noqa: E402


@pytest.fixture
def boot(request):
    """boot(**kwargs) -> Machine, killed at the end of the test."""
    machines = []

    def start(suffix="", **kw):
        name = request.node.name.replace("/", "_").replace("[", "-").replace("]", "")
        m = Machine(name + suffix, **kw)
        machines.append(m)
        return m

    yield start
    for m in machines:
        m.kill()
