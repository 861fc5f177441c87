"""One exception hierarchy for the whole project."""


class SoundalikeError(Exception):
    """Base class of every error Soundalike raises on purpose."""


class ConfigError(SoundalikeError):
    """A setting or parameter has a value we cannot use."""


class DecodeError(SoundalikeError):
    """An audio file cannot be decoded or analysed; the message is the reason recorded."""


class NotFoundError(SoundalikeError):
    """A track, user or file the caller named does not exist."""


class DatabaseError(SoundalikeError):
    """The database does not answer, is damaged or refuses writes."""


class PreconditionError(SoundalikeError):
    """What the action needs is not there yet (enough labelled genres, a model saved in the current format)."""


class InputError(SoundalikeError):
    """A row or document supplied by the user is malformed."""


class IndexMismatchError(SoundalikeError):
    """A saved index does not match what the caller expects (dimension, model, catalogue)."""


class IndexCorruptError(IndexMismatchError):
    """A saved index file is damaged (truncated, overwritten): its checksum or its contents do not read back."""


class UnauthorizedError(SoundalikeError):
    """The caller lacks the credentials an administrative action needs."""


class ForbiddenError(SoundalikeError):
    """The caller's credential is valid but does not cover this action, or the request is cross-site."""


class RateLimitedError(SoundalikeError):
    """The action was asked for again too soon; ``retry_after`` says how many seconds to wait."""

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after
