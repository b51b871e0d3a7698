"""Which files to lint: walk directories, honour .gitignore and exclude patterns.

Links that lead out of the folder being walked are not followed (neither to
files nor to folders): a run never reads, nor `--fix` writes, outside the
folders it was given. Directories are walked without following links into folders already seen: a
link back to a folder being walked (a loop) is reported once instead of
recursing forever, and a second route to a folder already linted is skipped.
Only regular files are read: a broken link, a link loop or a FIFO named
`*.py` is reported, never opened (opening a FIFO would wait forever). Files named
explicitly on the command line are always linted unless `--force-exclude`
(pre-commit passes every staged file by name, so it needs the excludes to
apply to them too).
"""

from __future__ import annotations

import errno
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from errlint.linter.config import Settings, is_excluded

if TYPE_CHECKING:
    import pathspec

PYTHON_SUFFIXES = (".py", ".pyi", ".pyw")


@dataclass
class Discovery:
    files: list[Path] = field(default_factory=list)
    # (path, one-line reason) for paths that could not be walked.
    problems: list[tuple[Path, str]] = field(default_factory=list)


def _add_file(found: Discovery, seen_files: set[Path], path: Path) -> None:
    """Add `path` unless the same file (through a link, say) is already there."""
    resolved = Path(os.path.realpath(path))
    if resolved not in seen_files:
        seen_files.add(resolved)
        found.files.append(path)


def path_is_under(path: str, roots: tuple[str, ...]) -> bool:
    """Whether the real path `path` lies in one of the real folders `roots`."""
    return any(path == root or path.startswith(root.rstrip(os.sep) + os.sep) for root in roots)


def linted_roots(paths: list[Path]) -> tuple[str, ...]:
    """The real folders a run may read through links and write fixes in: the folders
    named, and the folder of each file named."""
    return tuple(
        os.path.realpath(path if os.path.isdir(path) else os.path.dirname(os.path.abspath(path))) for path in paths
    )


def discover(paths: list[Path], settings: Settings, force_exclude: bool = False) -> Discovery:
    found = Discovery()
    seen_files: set[Path] = set()
    for path in paths:
        if not os.path.lexists(path):
            found.problems.append((path, "no such file or directory"))
            continue
        if path.is_dir():
            if force_exclude and is_excluded(path, settings):
                continue
            _walk(path, settings, found, seen_files)
        else:
            if force_exclude and (is_excluded(path, settings) or _gitignored(path, settings)):
                continue
            problem = _not_a_file(path)
            if problem and problem != NOT_REGULAR:  # a FIFO named explicitly is read, as asked
                found.problems.append((path, problem))
                continue
            _add_file(found, seen_files, path)
    found.files.sort(key=lambda p: p.as_posix())
    return found


def _walk(root: Path, settings: Settings, found: Discovery, seen_files: set[Path]) -> None:
    visited_dirs: set[Path] = set()
    inside = linted_roots([root])
    ignores = _inherited_gitignores(root) if settings.respect_gitignore else []
    # A folder named on the command line is linted even when a .gitignore
    # above it ignores it, as a named file is: the user asked for it.
    ignores = [(base, spec) for base, spec in ignores if not _ignored_by(root, True, [(base, spec)])]

    def visit(directory: Path, ignores: list[tuple[Path, pathspec.PathSpec]], walking: tuple[Path, ...]) -> None:
        real = Path(os.path.realpath(directory))
        if real in walking:
            found.problems.append((directory, f"skipped: directory link loop (points back to {real})"))
            return
        if real in visited_dirs:
            return  # another route to a folder already linted
        visited_dirs.add(real)
        if settings.respect_gitignore:
            spec = _read_gitignore(directory / ".gitignore")
            if spec is not None:
                ignores = [*ignores, (directory, spec)]
        try:
            entries = sorted(os.scandir(directory), key=lambda e: e.name)
        except OSError as error:
            found.problems.append((directory, f"cannot read directory: {error.strerror or error}"))
            return
        for entry in entries:
            path = Path(entry.path)
            try:
                is_dir = entry.is_dir()
            except OSError:
                is_dir = False  # a link loop: reported below when it is named like Python
            if is_excluded(path, settings, walk_root=root) or _ignored_by(path, is_dir, ignores):
                continue
            if entry.is_symlink() and not path_is_under(os.path.realpath(path), inside):
                continue  # a link out of the folder being linted is not followed
            if is_dir:
                visit(path, ignores, (*walking, real))
            elif entry.name.endswith(PYTHON_SUFFIXES):
                problem = _not_a_file(path)
                if problem:
                    found.problems.append((path, problem))
                    continue
                _add_file(found, seen_files, path)

    visit(root, ignores, ())


NOT_REGULAR = "skipped: not a regular file"


def _not_a_file(path: Path) -> str | None:
    """Why `path` is not a regular file that can be read, or None."""
    try:
        mode = os.stat(path).st_mode
    except OSError as error:
        if os.path.islink(path):
            if error.errno == errno.ELOOP:
                return "skipped: symbolic link loop"
            return f"skipped: broken symbolic link (to {os.readlink(path)})"
        return f"cannot read: {error.strerror or error}"
    if not stat.S_ISREG(mode):
        return NOT_REGULAR
    return None


def _read_gitignore(path: Path) -> pathspec.PathSpec | None:
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None
    # Imported only when there is a .gitignore: pathspec loads asyncio and ssl
    # too, memory that every worker process would inherit.
    import pathspec

    return pathspec.GitIgnoreSpec.from_lines(lines)


def _inherited_gitignores(root: Path) -> list[tuple[Path, pathspec.PathSpec]]:
    """.gitignore files in the folders above `root`, up to the repository top (none outside a repo)."""
    current = Path(os.path.abspath(root))
    if (current / ".git").exists():
        return []
    found = []
    for parent in current.parents:
        spec = _read_gitignore(parent / ".gitignore")
        if spec is not None:
            found.append((parent, spec))
        if (parent / ".git").exists():
            return list(reversed(found))
    return []


def _ignored_by(path: Path, is_dir: bool, ignores: list[tuple[Path, pathspec.PathSpec]]) -> bool:
    if path.name == ".git":
        return True
    absolute = os.path.abspath(path)
    for base, spec in ignores:
        relative = os.path.relpath(absolute, os.path.abspath(base))
        if relative.startswith(".."):
            continue
        if spec.match_file(Path(relative).as_posix() + ("/" if is_dir else "")):
            return True
    return False


def _gitignored(path: Path, settings: Settings) -> bool:
    if not settings.respect_gitignore:
        return False
    ignores = _inherited_gitignores(path.parent)
    spec = _read_gitignore(path.parent / ".gitignore")
    if spec is not None:
        ignores.append((path.parent, spec))
    return _ignored_by(path, False, ignores)
