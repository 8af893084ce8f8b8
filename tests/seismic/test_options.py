"""The seismic pipelines' options: defaults as the commands show them, refusals naming the option at fault."""
import pytest

from rather.common.errors import BadInput
from rather.seismic.options import DEFAULT_CHECKPOINT, ExplainOptions, TrainOptions


def test_defaults_are_the_committed_classifier_one_inline_and_one_process():
    options = ExplainOptions()
    assert (options.kind, options.number, options.every_line, options.stride) == ("inline", None, False, 10)
    assert options.model == str(DEFAULT_CHECKPOINT) and DEFAULT_CHECKPOINT.is_file()
    assert not options.in_blocks and ExplainOptions(every_line=True, workers=2).in_blocks
    assert ExplainOptions(every_line=True, scheduler="tcp://127.0.0.1:8786").in_blocks


@pytest.mark.parametrize("fields, says", [
    ({"stride": 0}, "--stride must be a positive number of samples; got 0"),
    ({"workers": 2}, "--workers and --scheduler explain a whole survey in blocks of inlines; add --all"),
    ({"scheduler": "tcp://127.0.0.1:8786"}, "add --all"),
    ({"every_line": True, "workers": 0}, "--workers must be a positive number of worker processes; got 0"),
    ({"block_lines": 0}, "--block-lines must be a positive number of inlines; got 0"),
    ({"timeout": float("nan")}, "--timeout must be a positive number of seconds; got nan"),
    ({"timeout": 0.0}, "--timeout must be a positive number of seconds; got 0"),
    ({"kind": "timeslice"}, "lines are inlines or crosslines, not 'timeslice'"),
])
def test_explain_options_refuse_what_cannot_run(fields, says):
    with pytest.raises(BadInput) as refused:
        ExplainOptions(**fields)
    assert says in str(refused.value)


@pytest.mark.parametrize("name", ["surveys", "per_class", "epochs"])
def test_train_options_refuse_nothing_to_train_on(name):
    with pytest.raises(BadInput, match=f"--{name.replace('_', '-')} must be a positive number; got 0"):
        TrainOptions(**{name: 0})
