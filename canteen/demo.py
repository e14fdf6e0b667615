def seed(*, progress) -> None:
    """Create this app's demo data. Idempotent: running it again changes nothing.

    ``progress(label, iterable)`` wraps an iterable with the command's progress bar.
    """
