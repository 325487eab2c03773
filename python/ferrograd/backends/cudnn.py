"""`fg.backends.cudnn`: settable flags torch programs flip for speed or determinism. ferrograd has
no cuDNN, so they are recorded and have no effect; is_available() is False."""

benchmark = False
deterministic = False
enabled = True
allow_tf32 = True


def is_available() -> bool:
    return False


def version():
    return None
