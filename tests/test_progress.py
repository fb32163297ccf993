"""Progress off a terminal: a line at the start and one per tenth of the work, not per step."""

from archsearch.progress import Lines, progress


def test_off_a_terminal_progress_is_a_line_per_tenth(capsys):
    bar = progress(400, "train")
    assert isinstance(bar, Lines)  # pytest's captured stderr is no terminal
    for step in range(400):
        bar.set_postfix(loss=f"{1 / (step + 1):.3f}")
        bar.update(1)
    bar.close()
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 11
    assert lines[0].startswith("train: 0/400 (0%)")
    assert lines[4].startswith("train: 160/400 (40%)") and lines[4].endswith("loss=0.006")
    assert lines[-1].startswith("train: 400/400 (100%)")


def test_a_resumed_run_starts_from_its_step_and_a_disabled_one_prints_nothing(capsys):
    bar = progress(10, "runs", initial=3)
    for _ in range(7):
        bar.update(1)
    lines = capsys.readouterr().err.splitlines()
    assert [line.split(",")[0] for line in lines] == [
        f"runs: {n}/10 ({10 * n}%)" for n in range(3, 11)
    ]
    quiet = progress(10, "runs", disable=True)
    quiet.update(10)
    quiet.close()
    assert capsys.readouterr().err == ""
