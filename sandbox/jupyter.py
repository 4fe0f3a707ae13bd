"""What a project's single-user Jupyter server serves: project data is usable, never downloadable.

Loaded inside the single-user servers (``[lab] python -m jupyterhub.singleuser``, configured by
:mod:`sandbox.hubconfig` with ``--ServerApp.contents_manager_class`` and terminals off). The
kernels read ``data/`` as files — that is the point of the lab — but nothing of it leaves
through Jupyter's own HTTP API:

- ``data/`` (the extract) is left out of listings, and every contents or files request under it
  — open, download (``/files/…``), copy, rename, delete, save, checkpoints — is refused with 403
  and LAB035, also when reached through a link that resolves into it;
- elsewhere (``work/``, ``outputs/``), the content of a *data file* is refused the same way: a
  name ending like one (Parquet, Arrow/Feather, pickle, NumPy, HDF5, SQLite, archives,
  spreadsheets, statistics packages' files), a file that starts like one whatever its name, or
  any file larger than ``[lab] download_max_bytes`` (a CSV of rows written by a kernel, say).
  Listings still show such files and their sizes; a notebook or script under the limit opens;
- ``released/`` (outputs a reviewer released) is served as it is;
- ``/files/…`` goes through this contents manager too (the file manager's default serves the
  disk directly, past any check), so the two paths cannot disagree.

What still leaves: anything a kernel prints into a notebook (docs/lab.md, residual risks); the
output release (:mod:`sandbox.outputs`) is the way out for results.
"""

from __future__ import annotations

import errno
import os
from contextvars import ContextVar
from typing import Any

from jupyter_server.files.handlers import FilesHandler
from jupyter_server.services.contents.largefilemanager import AsyncLargeFileManager
from tornado import web
from traitlets import Int, List, Unicode, default

from sandbox.errors import DownloadRefused

#: Names of files that hold data in bulk (lower case, compared with the name's end).
DATA_SUFFIXES = (
    ".parquet", ".pq", ".feather", ".arrow", ".ipc", ".orc", ".avro", ".pkl", ".pickle",
    ".joblib", ".npy", ".npz", ".h5", ".hdf5", ".hdf", ".db", ".sqlite", ".sqlite3", ".duckdb",
    ".zip", ".gz", ".bz2", ".xz", ".zst", ".tar", ".tgz", ".7z", ".rar", ".dta", ".sas7bdat",
    ".xpt", ".sav", ".rds", ".rdata", ".rda", ".xlsx", ".xls", ".ods",
)  # fmt: skip
#: How such files start, whatever their name.
SIGNATURES = (
    b"PAR1", b"ARROW1", b"PK\x03\x04", b"\x1f\x8b", b"BZh", b"\xfd7zXZ\x00", b"\x28\xb5\x2f\xfd",
    b"SQLite format 3", b"\x89HDF", b"\x93NUMPY", b"ORC", b"Obj\x01", b"7z\xbc\xaf",
    b"Rar!", b"\xd0\xcf\x11\xe0",
)  # fmt: skip
PICKLE_PROTOCOLS = b"\x02\x03\x04\x05"
_listing: ContextVar[bool] = ContextVar("jdx_lab_listing", default=False)


def _forbid(why: str) -> web.HTTPError:
    """A 403 whose JSON body (``message``) carries the code and the way forward."""
    text = f"{DownloadRefused.code}: {why}"
    return web.HTTPError(403, text.replace("%", "%%"), reason="Project data stays in the lab")


class ProjectContentsManager(AsyncLargeFileManager):
    """The single-user servers' contents manager (see the module docstring)."""

    # Not configurable (config=False): a config file the project user can write (were one ever
    # read) must not be able to move what is refused or what is served as released.
    data_dir = Unicode("data", config=False, help="The project's extract (never served).")
    hidden_dirs = List(
        ["data", "requests", "jobs", "config"], config=False,
        help="Top-level folders left out of listings.",
    )  # fmt: skip
    released_dir = Unicode("released", config=False, help="Released outputs: served as they are.")
    download_max_bytes = Int(
        2_000_000, config=True, help="Largest file whose content is served (outside released/)."
    )

    @default("files_handler_class")
    def _files_handler_class_default(self) -> type:
        return FilesHandler  # through get() below, not straight from the disk

    @default("files_handler_params")
    def _files_handler_params_default(self) -> dict[str, Any]:
        return {"path": self.root_dir}  # StaticFileHandler's argument; get() serves, not it

    def _top(self, path: str) -> str:
        return path.strip("/").split("/", 1)[0]

    def _in_data(self, path: str) -> bool:
        if self._top(path) == self.data_dir:
            return True
        data = os.path.realpath(os.path.join(self.root_dir, self.data_dir))
        real = os.path.realpath(self._get_os_path(path.strip("/")))
        return real == data or real.startswith(data + os.sep)

    def _guard(self, path: str) -> None:
        if self._in_data(path):
            raise _forbid(
                f"{self.data_dir}/ cannot be opened, listed or downloaded through Jupyter; read "
                "it in a kernel (sandbox.labkit.load()) and ask for the release of results "
                "(labkit.request_release)"
            )

    def _guard_content(self, path: str) -> None:
        """Refuse the content of a data file outside ``released/``."""
        if self._top(path) == self.released_dir:
            return
        os_path = self._get_os_path(path.strip("/"))
        if not os.path.isfile(os_path):
            return
        name = os.path.basename(path).lower()
        try:
            size = os.path.getsize(os_path)
            with open(os_path, "rb") as f:
                head = f.read(16)
        except OSError:
            return  # unreadable: Jupyter's own answer (403/404) follows
        why = None
        if name.endswith(DATA_SUFFIXES):
            why = f"{os.path.basename(path)} is a data file by its name"
        elif head.startswith(SIGNATURES) or (
            head[:1] == b"\x80" and head[1:2] and head[1:2] in PICKLE_PROTOCOLS
        ):
            why = f"{os.path.basename(path)} is a data file by its content"
        elif size > self.download_max_bytes:
            why = (
                f"{os.path.basename(path)} has {size:,} bytes, over the lab's "
                f"{self.download_max_bytes:,} ([lab] download_max_bytes)"
            )
        if why is not None:
            raise _forbid(
                f"{why}; data files are not served by the lab's Jupyter. Write results to "
                "outputs/ and ask for their release (sandbox.labkit.request_release)"
            )

    async def get(
        self,
        path: str,
        content: bool = True,
        type: str | None = None,
        format: str | None = None,
        require_hash: bool = False,
    ) -> dict[str, Any]:
        if _listing.get():  # an entry of a folder being listed: hidden, not refused
            inner = path.strip("/")
            if self._in_data(inner) or ("/" not in inner and inner in self.hidden_dirs):
                raise OSError(errno.EACCES, "not listed")  # the listing skips it silently
        else:
            self._guard(path)
            if content and type != "directory":
                self._guard_content(path)
        return await super().get(path, content=content, type=type, format=format,
                                 require_hash=require_hash)  # fmt: skip

    async def _dir_model(self, path: str, content: bool = True) -> dict[str, Any]:
        token = _listing.set(True)
        try:
            return await super()._dir_model(path, content=content)
        finally:
            _listing.reset(token)

    async def save(self, model: dict[str, Any], path: str = "") -> dict[str, Any]:
        self._guard(path)
        return await super().save(model, path)

    async def delete_file(self, path: str) -> None:
        self._guard(path)
        await super().delete_file(path)

    async def rename_file(self, old_path: str, new_path: str) -> None:
        self._guard(old_path)
        self._guard(new_path)
        await super().rename_file(old_path, new_path)

    async def copy(self, from_path: str, to_path: str | None = None) -> dict[str, Any]:
        self._guard(from_path)
        self._guard_content(from_path)
        if to_path is not None:
            self._guard(to_path)
        return await super().copy(from_path, to_path)

    async def create_checkpoint(self, path: str) -> dict[str, Any]:
        self._guard(path)
        return await super().create_checkpoint(path)

    async def list_checkpoints(self, path: str) -> list[dict[str, Any]]:
        self._guard(path)
        return await super().list_checkpoints(path)
