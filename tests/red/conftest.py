"""RED tests run torch single-threaded: on a shared 2-core machine, OpenMP threads waiting on a descheduled
sibling make small convolutions 10-100x slower (measured here: 29 ms per tiny conv with 2 threads)."""

import pytest
import torch


@pytest.fixture(autouse=True, scope="module")
def single_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
