"""Benchmark options that cannot run (issues 20 and 21): refused in one line, before any work."""
import pytest

from rather.suites.cli import main

CASES = [
    (["core", "--batches", "0"], "--batches", "from 1 to 4096"), (["core", "--batches", "-1"], "--batches", "from 1"),
    (["core", "--batches", "1", "99999"], "--batches", "from 1"), (["core", "--batches", "1.5"], "--batches", "from 1"),
    (["core", "--loop-iterations", "0"], "--loop-iterations", "from 1 to 200"),
    (["core", "--loop-iterations", "201"], "--loop-iterations", "from 1 to 200"),
    (["core", "--pairs", "-1"], "--pairs", "from 3 to 100"), (["core", "--pairs", "\u00b2"], "--pairs", "from 3"),
    (["core", "--pairs", "1e3"], "--pairs", "from 3"),
    (["all", "--pairs", "2"], "--pairs", "from 3 to 100"),  # fewer pairs than the method's least
    (["all", "--pairs", "101"], "--pairs", "from 3 to 100"), (["iqa", "--pairs", ""], "--pairs", "from 3"),
    (["all", "--device", "gpu"], "--device", "expected cpu, cuda or cuda:N, got 'gpu'"),
    (["core", "--device", "cuda:x"], "--device", "expected cpu, cuda or cuda:N"),
    (["core", "--device", "cuda:-1"], "--device", "expected cpu, cuda or cuda:N"),
    (["core", "--device", "CPU"], "--device", "expected cpu, cuda or cuda:N"),
]


@pytest.mark.parametrize("options,argument,says", CASES, ids=[" ".join(case[0]) for case in CASES])
def test_bench_refuses_options_that_cannot_run(options, argument, says, capsys):
    status = main(["bench", *options])
    lines = capsys.readouterr().err.strip().splitlines()
    assert status == 2 and len(lines) == 1
    assert f"argument {argument}: " in lines[0] and says in lines[0]


@pytest.mark.parametrize("argv, says", [(["bench", "everything"], "invalid choice: 'everything'"),
                                        (["bench", "core", "--repeats", "3"], "unrecognized arguments: --repeats 3")],
                         ids=["unknown suite", "the old --repeats"])
def test_bench_refuses_unknown_suites_and_options(argv, says, capsys):
    status = main(argv)
    lines = capsys.readouterr().err.strip().splitlines()
    assert status == 2 and len(lines) == 1 and lines[0].startswith("rather") and says in lines[0]


def test_bench_refuses_worker_counts_that_cannot_run(refuse):
    refuse(["bench", "seismic", "--workers", "0,-1"], says="--workers takes positive worker counts")


@pytest.mark.parametrize("suite", ["core", "all", "iqa"])
def test_bench_refuses_worker_counts_outside_the_seismic_benchmark(suite, refuse):
    refuse(["bench", suite, "--workers", "1,2"], says=(f"not of '{suite}'", "use it with 'rather bench seismic'"))


@pytest.mark.parametrize("device", ["cuda", "cuda:7"])
def test_bench_refuses_a_gpu_torch_cannot_see(device, refuse, monkeypatch):
    monkeypatch.setattr("torch.cuda.is_available", lambda: False)
    refuse(["bench", "all", "--device", device],
           says=(f"--device {device}: torch sees 0 CUDA GPU(s) here", "leave --device out"))
