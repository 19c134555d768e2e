"""The one user-facing error type.

Everything below the CLI raises :class:`W2VError` for problems the user can fix (a missing file, an
empty corpus, an unknown head, a malformed benchmark). The CLI prints ``error: <message>`` on one
line and exits with code 2; library users catch the exception.
"""


class W2VError(Exception):
    """A problem with the user's input or settings, described in one line."""

    exit_code = 2


class TrainingInterrupted(W2VError):
    """Training stopped on SIGINT or SIGTERM (after writing a checkpoint when it had somewhere to)."""

    def __init__(self, message: str, signal_number: int):
        super().__init__(message)
        self.exit_code = 128 + signal_number  # the shell's convention: 130 for SIGINT, 143 for SIGTERM
