"""`proxgan reproduce NAME`: one command per published table (filled in below)."""

__all__: list[str] = []
