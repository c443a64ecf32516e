"""Reading YAML: core-schema scalars as YAML 1.2 reads them, positions of keys and values, refusals."""

from __future__ import annotations

from pathlib import Path

from runtime.config.errors import ConfigError
from runtime.config.loader import RawDoc, load_yaml


def load(tmp_path: Path, text: str) -> RawDoc | ConfigError:
    path = tmp_path / "doc.yaml"
    path.write_text(text, encoding="utf-8")
    return load_yaml(path, tmp_path)


def test_scalars_follow_yaml_1_2(tmp_path: Path) -> None:
    doc = load(tmp_path, "a: 08\nb: 0x1F\nc: true\nd: yes\ne: ~\nf: 1.5\ng: 2026-12-24\nh: NO\ni: '5'\nj: .inf\n")
    assert isinstance(doc, RawDoc)
    assert doc.data == {"a": 8, "b": 31, "c": True, "d": "yes", "e": None, "f": 1.5, "g": "2026-12-24", "h": "NO",
                        "i": "5", "j": float("inf")}


def test_positions_of_keys_values_and_list_items(tmp_path: Path) -> None:
    doc = load(tmp_path, "fields:\n  asset: {kind: relation, to: assets}\n  tags:\n    - one\n    - two\n")
    assert isinstance(doc, RawDoc)
    assert doc.key_marks[("fields", "asset")] == (2, 3)
    assert doc.value_marks[("fields", "asset", "to")] == (2, 31)
    assert doc.value_marks[("fields", "tags", 1)] == (5, 7)
    assert doc.position(("fields", "asset", "missing")) == (2, 10)


def test_aliases_are_expanded(tmp_path: Path) -> None:
    doc = load(tmp_path, "base: &b {kind: string}\ncopy: *b\n")
    assert isinstance(doc, RawDoc)
    assert doc.data["copy"] == {"kind": "string"}


def test_merge_keys_are_refused_with_a_reason(tmp_path: Path) -> None:
    error = load(tmp_path, "base: &b {kind: string}\nfield:\n  <<: *b\n  label: x\n")
    assert isinstance(error, ConfigError)
    assert (error.line, error.column, error.message) == (3, 3, "YAML merge keys ('<<') are not supported")


def test_a_mapping_used_as_a_key_is_refused(tmp_path: Path) -> None:
    error = load(tmp_path, "? {a: 1}\n: value\n")
    assert isinstance(error, ConfigError)
    assert error.message == "a key must be plain text"


def test_unreadable_bytes_are_an_error_not_a_crash(tmp_path: Path) -> None:
    path = tmp_path / "doc.yaml"
    path.write_bytes(b"name: \xff\xfe\n")
    error = load_yaml(path, tmp_path)
    assert isinstance(error, ConfigError)
    assert error.message == "cannot read file"
