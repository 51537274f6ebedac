"""The one exception type users see: the CLI prints its message, without a traceback."""


class ChurnError(Exception):
    """A problem with the user's input or settings, described in plain words."""


class InputError(ChurnError):
    """Bad input data; the message names the file, the row and the column."""

    def __init__(self, path: str, message: str, row: int | None = None, column: str | None = None):
        where = str(path)
        if row is not None:
            where += f", row {row}"
        if column is not None:
            where += f", column '{column}'"
        super().__init__(f"{where}: {message}")
        self.path, self.row, self.column = path, row, column
