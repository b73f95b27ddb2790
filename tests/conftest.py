"""Shared pytest fixtures."""

import pytest

from tests.iemocap_fixture import build_iemocap_tree, require_metadata


@pytest.fixture(scope="session")
def iemocap_tree(tmp_path_factory):
    """The full IEMOCAP-shaped tree (5,531 real names, traps, extra labels).

    Built once per test session (about a second) and shared: treat it as
    read-only; a test that damages files builds its own with `limit_sessions`.
    """
    metadata = require_metadata()
    return build_iemocap_tree(tmp_path_factory.mktemp("iemocap"), metadata_path=metadata)


@pytest.fixture(scope="session")
def small_demo_corpus(tmp_path_factory):
    """A small synthetic demo corpus (2 utterances per emotion and speaker) on disk."""
    from adarl_tf.corpora import demo
    return demo.generate_demo_corpus(tmp_path_factory.mktemp("demo") / "corpus",
                                     utterances_per_emotion=2)
