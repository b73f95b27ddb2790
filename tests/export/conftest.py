"""A trained fold folder the export tests share (trained once per test process)."""

import pytest

from tests.model_files import SPEAKER
from tests.run_files import trained_fold


@pytest.fixture(scope="session")
def speaker_fold_dir(small_demo_corpus, tmp_path_factory):
    """The compact preset's kind of model, tiny (`model_files.SPEAKER`: mel bands from
    one 25 ms window), with speaker normalisation, tails overlapping."""
    return trained_fold(SPEAKER, small_demo_corpus, tmp_path_factory.mktemp("speaker_run"),
                        tail="overlap")
