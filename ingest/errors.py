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


class AccessError(SoundalikeError):
    """A refusal for want of access; ``needs`` names the scope the request needed, when one would do."""

    def __init__(self, message: str, needs: str | None = None) -> None:
        """The message, and the scope that would have let the request through."""
        super().__init__(message)
        self.needs = needs


class UnauthorizedError(AccessError):
    """The caller lacks the credentials an administrative action needs."""


class ForbiddenError(AccessError):
    """The caller's credential is valid but does not cover this action, or the request is cross-site."""


class RateLimitedError(SoundalikeError):
    """The action was asked for again too soon; ``retry_after`` says how many seconds to wait."""

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class MediaServerError(SoundalikeError):
    """A media server could not be reached, refused the credentials, or answered an error or malformed data."""
