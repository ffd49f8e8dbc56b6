"""The one exception type for failures a user can fix."""


class PipelineError(Exception):
    """A user-fixable failure. Its message is one line: the problem, then the fix."""
