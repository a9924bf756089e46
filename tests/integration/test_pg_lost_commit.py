"""PostgreSQL: the server commits a put, the answer is lost. The put counts as done, and
the same Status goes on writing (no false ConcurrentWriterError)."""

from __future__ import annotations

import pandas as pd
import pytest
from sqlalchemy.engine import make_url

from helpers.proxy import CommitDroppingProxy
from petsard_status import Status

CONFIG = {"Loader": {"a": {"filepath": "x.csv"}}, "Splitter": {"s": {}}}


class Frame:
    def __init__(self, result: object) -> None:
        self.result = result

    def get_result(self) -> object:
        return self.result


@pytest.mark.postgres
def test_a_put_whose_commit_answer_is_lost_is_known_to_be_stored(pg_url: str) -> None:
    url = make_url(pg_url)
    with CommitDroppingProxy((url.host or "127.0.0.1", url.port or 5432)) as proxy:
        proxied = url.set(host="127.0.0.1", port=proxy.port).render_as_string(
            hide_password=False)
        frame = pd.DataFrame({"x": [1.0, 2.0]})
        with Status(CONFIG, proxied, run="lost") as status:
            status.put("Loader", "a", Frame(frame))
            proxy.armed.set()
            status.put("Splitter", "s", Frame({"train": frame}))  # its COMMIT answer is lost
            assert proxy.dropped.is_set()
            status.put("Loader", "a", Frame(frame))  # the same writer goes on
            assert [s.module_name for s in status.get_snapshots()] == [
                "Loader", "Splitter", "Loader"]
    with Status.open("lost", pg_url, read_only=True) as reopened:
        assert len(reopened.get_snapshots()) == 3
        assert list(reopened.status) == ["Loader"]
