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


@pytest.fixture(scope="session")
def parsed_flags():
    """absl's flags marked as parsed, for tests that read FLAGS or call `main.main` directly
    (under `flagsaver`); a module uses it with `pytest.mark.usefixtures("parsed_flags")`."""
    from absl import flags
    if not flags.FLAGS.is_parsed():
        flags.FLAGS.mark_as_parsed()


@pytest.fixture(scope="session")
def tiny_flags():
    """main's flags for a quick run: `model_files.TINY` (1 s segments, 0-2 kHz, trunk
    4-4-4-8), batches of 8, one epoch. For `flagsaver.flagsaver(**tiny_flags, ...)`."""
    return dict(segment_s=1.0, max_freq_hz=2000.0, trunk_filters=["4", "4", "4", "8"],
                batch_size=8, epochs=1)

