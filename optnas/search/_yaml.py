"""Read a search-space file safely: bounded size and alias expansion, no duplicate keys, text only.

PyYAML's ``safe_load`` runs no code, but it expands aliases without limit (a 1 KB "billion laughs" file
becomes 10^9 nodes and gigabytes), keeps the last of two equal keys silently, and reports a binary file as
a bare ``UnicodeDecodeError``. Here the file is read as bytes (at most `bounds.MAX_FILE_BYTES`), must be
UTF-8 text without NUL bytes, is composed into YAML nodes (aliases stay shared), walked once counting the
nodes an expansion would make (refused past `bounds.MAX_NODES`; a node aliases share is measured once, so
the walk costs what the text costs) and checking keys, and only then constructed.

Example:
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "dup.yaml"
    >>> _ = path.write_text("space:\\n  width: [8]\\n  width: [16]\\n")
    >>> load_space_file(path)
    Traceback (most recent call last):
    ...
    optnas.errors.UsageError: ...dup.yaml: space.width: duplicate key at line 3 (first at line 2); give each key once
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from ..errors import UsageError
from . import bounds

_Loader: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's parser when built with it


def _read(path: Path) -> str:
    try:
        with open(path, "rb") as fh:
            data = fh.read(bounds.MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise UsageError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    if len(data) > bounds.MAX_FILE_BYTES:
        raise UsageError(f"{path}: larger than {bounds.MAX_FILE_BYTES} bytes, the limit of a search-space file "
                         "(a page of YAML is a few hundred bytes)")
    nul = data.find(b"\0")
    if nul >= 0:
        raise UsageError(f"{path}: holds a NUL byte at byte {nul}: a search-space file is UTF-8 text (YAML), "
                         "not a binary file")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UsageError(f"{path}: is not UTF-8 text (byte {exc.start} is 0x{data[exc.start]:02x}); save the "
                         "search-space file as UTF-8") from None


def _key_text(node: yaml.Node) -> str:
    return str(node.value) if isinstance(node, yaml.ScalarNode) else f"<{node.tag.rsplit(':', 1)[-1]}>"


def _walk(root: yaml.Node, path: Path) -> None:
    """Count the nodes an expansion of aliases would make (refused past the bound) and refuse a key given
    twice. A node shared by aliases is measured once (memoized), so a bomb costs what its text costs."""
    sizes: dict[int, int] = {}

    def size(node: yaml.Node, where: str, depth: int) -> int:
        if id(node) in sizes:
            return sizes[id(node)]
        if depth > bounds.MAX_DEPTH:  # also ends a recursive alias (&a [*a]), which nests forever
            raise UsageError(f"{path}: {where.split('.', 1)[0]}: nested deeper than {bounds.MAX_DEPTH} levels, "
                             "the limit of a search-space file")
        total = 1
        if isinstance(node, yaml.ScalarNode) and node.tag.endswith((":int", ":float")) and len(node.value) > 40:
            # no count or rate needs 40 digits; Python refuses to read an int of 4300 (with a bare message)
            raise UsageError(f"{path}: {where or '(top level)'}: a number of {len(node.value)} characters is "
                             "invalid: no value of a search space needs more than 40")
        if isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                total += size(item, f"{where}.{i}" if where else str(i), depth + 1)
                if total > bounds.MAX_NODES:
                    break
        elif isinstance(node, yaml.MappingNode):
            seen: dict[str, int] = {}
            for key, value in node.value:
                text = _key_text(key)
                cut = text if len(text) <= bounds.ECHO_MAX else text[: bounds.ECHO_MAX - 3] + "..."
                label = f"{where}.{cut}" if where else cut
                if text != "<<":  # merge keys (<<: *base) may repeat; the mapping's own keys may not
                    if text in seen:
                        raise UsageError(
                            f"{path}: {label}: duplicate key at line {key.start_mark.line + 1} (first at line "
                            f"{seen[text]}); give each key once")
                    seen[text] = key.start_mark.line + 1
                total += size(key, label, depth + 1) + size(value, label, depth + 1)
                if total > bounds.MAX_NODES:
                    break
        if total > bounds.MAX_NODES:
            raise UsageError(
                f"{path}: more than {bounds.MAX_NODES} YAML values once its aliases (*name) are expanded, the "
                "limit of a search-space file (an alias bomb, or lists far longer than any search needs)")
        sizes[id(node)] = total
        return total

    size(root, "", 0)


def load_space_file(path: Path) -> Any:
    """The YAML document of ``path`` as Python data, within `bounds`; every refusal is one UsageError line."""
    text = _read(path)
    loader = _Loader(text)
    try:
        try:
            node = loader.get_single_node()
        except RecursionError:
            raise UsageError(f"{path}: nested too deeply to read as a search-space file") from None
        if node is None:
            return None
        _walk(node, path)
        try:
            return loader.construct_document(node)
        except RecursionError:
            raise UsageError(f"{path}: nested too deeply to read as a search-space file") from None
        except ValueError as exc:  # an integer past Python's 4300-digit conversion limit
            first = (str(exc).splitlines() or [type(exc).__name__])[0]
            raise UsageError(f"{path}: a value cannot be read: {first[: bounds.ECHO_MAX]}") from None
    finally:
        loader.dispose()
