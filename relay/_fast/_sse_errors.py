"""Exception shared by both SSE decoder twins, so one ``except`` clause catches either."""


class SSELineTooLong(ValueError):
    """A line of the event stream exceeded the decoder's ``max_line`` limit."""
