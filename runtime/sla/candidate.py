"""Candidate SLA policies: the desk as it would be with another folder's SLA files in place of its own.

They pass exactly the validation the desk's own files pass (loaded by the same loader from a scratch copy of
the definitions), and their errors name the candidate files where they really are.
"""

from __future__ import annotations

import dataclasses
import shutil
import tempfile
from pathlib import Path, PurePosixPath

from runtime.compile.desk import CompiledDesk, compile_desk
from runtime.config.desk import validate
from runtime.config.errors import ConfigError, render_report
from runtime.errors import ConfigInvalid


def policy_files(folder: Path) -> list[Path]:
    """The SLA files a folder holds, as the desk loader finds them."""
    return sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")])


def load_candidate(compiled: CompiledDesk, folder: Path) -> CompiledDesk:
    """``compiled``'s desk with the SLA files in ``folder`` instead of its own; raises ConfigInvalid with the
    full report, files named by ``folder``, when they do not validate."""
    project = compiled.definitions.project
    with tempfile.TemporaryDirectory(prefix="tessera-candidate-") as scratch:
        root = Path(scratch)
        shutil.copy(compiled.root / "tessera.yaml", root / "tessera.yaml")
        types = PurePosixPath(project.ticket_types_dir)
        if not types.is_absolute() and ".." not in types.parts:  # elsewhere, the loader finds them where they are
            shutil.copytree(compiled.root / types, root / types)
        policies = root / project.sla_policies_dir
        policies.mkdir(parents=True, exist_ok=True)
        for path in policy_files(folder):
            shutil.copy(path, policies / path.name)
        desk, errors = validate(root)
    if desk is None:
        prefix = PurePosixPath(project.sla_policies_dir).as_posix().rstrip("/") + "/"
        located = [_moved(error, prefix, folder) for error in errors]
        raise ConfigInvalid(list(located), render_report(located))
    return compile_desk(desk, compiled.root)


def _moved(error: ConfigError, prefix: str, folder: Path) -> ConfigError:
    if not error.file.startswith(prefix):
        return error
    return dataclasses.replace(error, file=(folder / error.file[len(prefix):]).as_posix())
