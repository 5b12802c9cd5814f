"""Exceptions: every negative FBX_E* code becomes a FuseboxError (or one of
its subclasses) carrying the library's own sentence (fbx_strerror)."""
from . import _lib as L


class FuseboxError(Exception):
    """A call into libfusebox failed.  .code is the FBX_E* value, .reason
    the library's sentence for it (fbx_strerror), .context what was asked."""

    def __init__(self, code, context=None, detail=None):
        self.code = code
        self.context = context
        try:
            self.reason = L.lib().fbx_strerror(code).decode()
        except OSError:
            self.reason = "error %d" % code
        msg = self.reason
        if detail:
            msg = "%s (%s)" % (msg, detail)
        if context:
            msg = "%s: %s" % (context, msg)
        super().__init__(msg)


class InvalidArgument(FuseboxError, ValueError):
    pass


class BadName(FuseboxError, ValueError):
    pass


class BadRule(FuseboxError, ValueError):
    pass


class NotFound(FuseboxError, LookupError):
    pass


class AlreadyExists(FuseboxError):
    pass


class ConfigConflict(FuseboxError):
    pass


class BoxFull(FuseboxError):
    pass


class PermissionDenied(FuseboxError, PermissionError):
    pass


class ReadOnly(FuseboxError):
    pass


class OutOfRange(FuseboxError, ValueError):
    pass


class BoxClosedError(FuseboxError):
    """The Box (or a handle obtained from it) was used after close()."""

    def __init__(self, context=None):
        self.code = None
        self.context = context
        self.reason = "the box handle is closed"
        Exception.__init__(self, "%s: %s" % (context, self.reason) if context else self.reason)


_BY_CODE = {
    L.FBX_EINVAL: InvalidArgument,
    L.FBX_ENAME: BadName,
    L.FBX_ERULE: BadRule,
    L.FBX_ENOENT: NotFound,
    L.FBX_EEXIST: AlreadyExists,
    L.FBX_ECONFLICT: ConfigConflict,
    L.FBX_EFULL: BoxFull,
    L.FBX_EACCES: PermissionDenied,
    L.FBX_EOWNER: PermissionDenied,
    L.FBX_ERDONLY: ReadOnly,
    L.FBX_ERANGE: OutOfRange,
}


def error(code, context=None, detail=None):
    return _BY_CODE.get(code, FuseboxError)(code, context, detail)


def check(rc, context=None, detail=None):
    if rc < 0:
        raise error(rc, context, detail)
    return rc


def strerror(code):
    return L.lib().fbx_strerror(code).decode()
