"""Progress output: whole lines every few seconds when stderr is not a terminal, a bar when it is."""

import io

from w2v_contrastive.train import progress as progress_module
from w2v_contrastive.train.progress import Progress


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def test_a_log_gets_a_line_every_few_seconds_and_a_last_one(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(progress_module.time, "perf_counter", clock)
    log = io.StringIO()  # not a terminal
    bar = Progress(2_000_000, desc="nce", stream=log)
    for second in range(1, 13):  # 12 s at 100k words/s, updated 4 times a second
        for quarter in range(1, 5):
            clock.now += 0.25
            bar.update((4 * (second - 1) + quarter) * 25_000)
        bar.set_fields(loss=f"{2.5 - second / 100:.4f}", lr=f"{0.05 * (1 - second / 20):.5f}")
    bar.close()
    lines = log.getvalue().splitlines(keepends=True)
    assert "\r" not in log.getvalue() and all(line.endswith("\n") for line in lines)
    assert len(lines) == 3  # at 5 s, at 10 s, and at the end (12 s)
    assert lines[0] == "nce: 500.0k/2.0M words (25%), 100k words/s, loss 2.4600, lr 0.04000, 15s left\n", lines[0]
    assert lines[-1] == "nce: 1.2M/2.0M words (60%), 100k words/s, loss 2.3800, lr 0.02000\n"  # no time left at the end


def test_a_disabled_progress_writes_nothing_and_a_terminal_gets_a_bar():
    log = io.StringIO()
    quiet = Progress(1000, desc="nce", enabled=False, stream=log)
    quiet.update(1000)
    quiet.close()
    assert log.getvalue() == ""

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    screen = Terminal()
    bar = Progress(1000, desc="nce", stream=screen)
    bar.update(1000)
    bar.close()
    assert "\r" in screen.getvalue() and "1.00k/1.00k" in screen.getvalue()  # tqdm redraws in place
