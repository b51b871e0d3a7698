"""Cache corruption: whatever happens to the cache file's bytes, a run gives the
same findings as a run without a cache, and never an error."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from errlint.linter.cache import ResultCache
from errlint.linter.config import Settings
from errlint.linter.runner import lint_files

from .conftest import fuzz_settings
from .helpers import TRIED, example_sources

SETTINGS = Settings(select=("ERR",))

damage = st.one_of(
    st.tuples(st.just("flip"), st.integers(min_value=0), st.integers(min_value=0, max_value=7)),
    st.tuples(st.just("truncate"), st.integers(min_value=0), st.just(0)),
    st.tuples(st.just("insert"), st.integers(min_value=0), st.integers(min_value=0, max_value=255)),
    st.tuples(st.just("delete"), st.integers(min_value=0), st.integers(min_value=1, max_value=50)),
)


def _damaged(data: bytes, kind: str, where: int, value: int) -> bytes:
    at = where % (len(data) + 1)
    if kind == "flip" and at < len(data):
        return data[:at] + bytes([data[at] ^ (1 << value)]) + data[at + 1 :]
    if kind == "truncate":
        return data[:at]
    if kind == "insert":
        return data[:at] + bytes([value]) + data[at:]
    return data[:at] + data[at + value :]


@fuzz_settings(default_examples=200)
@given(damages=st.lists(damage, min_size=1, max_size=4))
def test_a_damaged_cache_is_never_an_error_nor_a_wrong_result(tmp_path_factory, damages):
    folder = tmp_path_factory.mktemp("cache")
    files = []
    for index, source in enumerate(example_sources()[:6]):
        path = folder / f"m{index}.py"
        path.write_text(source)
        files.append(path)
    expected = lint_files(files, SETTINGS, jobs=1)
    lint_files(files, SETTINGS, jobs=1, cache=ResultCache(folder / ".errlint_cache", SETTINGS))
    (cache_file,) = (folder / ".errlint_cache").glob("*/*.json")
    data = cache_file.read_bytes()
    for kind, where, value in damages:
        data = _damaged(data, kind, where, value)
    cache_file.write_bytes(data)
    TRIED["damaged caches"] += 1

    assert lint_files(files, SETTINGS, jobs=1, cache=ResultCache(folder / ".errlint_cache", SETTINGS)) == expected
