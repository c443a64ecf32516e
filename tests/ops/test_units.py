"""The install section of docs/operations.md, then each systemd unit of deploy/systemd/ started as systemd would
start it: its ExecStart= in its WorkingDirectory= with its EnvironmentFile=, on the installed layout."""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import smtplib
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.ops.guide import REPO, Install, sections
from tests.web.test_serve import free_port, stop, wait_until_answering

UNITS = REPO / "deploy" / "systemd"
SERVICES = ("tessera-web", "tessera-worker", "tessera-smtp", "tessera-backup")
START_TIMEOUT = 30.0
PASSWORD = "correct horse battery staple"


def unit(name: str) -> dict[str, str]:
    """``Section.Key`` → value of a unit file (the last one, where a key repeats)."""
    keys: dict[str, str] = {}
    section = ""
    for line in (UNITS / name).read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1]
        elif line and not line.startswith("#"):
            key, _, value = line.partition("=")
            keys[f"{section}.{key}"] = value
    return keys


def service_environment(install: Install, keys: dict[str, str]) -> dict[str, str]:
    """The environment systemd gives the service: its EnvironmentFile's lines, nothing of the test's TESSERA_*."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TESSERA_")}
    for line in Path(install.substitute(keys["Service.EnvironmentFile"])).read_text().splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            env[key] = value
    return env


def exec_start(install: Install, keys: dict[str, str], **ports: int) -> list[str]:
    argv = shlex.split(install.substitute(keys["Service.ExecStart"]))
    for option, port in ports.items():
        argv[argv.index(f"--{option}") + 1] = str(port)
    return argv


@pytest.mark.parametrize("name", SERVICES)
def test_each_service_runs_as_the_service_user_from_the_install(name: str) -> None:
    keys = unit(f"{name}.service")
    assert keys["Service.User"] == "tessera"
    assert keys["Service.WorkingDirectory"] == "/opt/tessera"
    assert keys["Service.EnvironmentFile"] == "/etc/tessera/tessera.env"
    assert keys["Service.ExecStart"].startswith("/opt/tessera/.venv/bin/python /opt/tessera/cli.py --root "
                                                "/opt/tessera ")
    assert "/var/lib/tessera" in keys["Service.ReadWritePaths"].split()
    if name != "tessera-backup":
        assert keys["Service.Restart"] in ("always", "on-failure")
        assert keys["Install.WantedBy"] == "multi-user.target"


def test_systemd_accepts_the_units(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed")
    install = Install(tmp_path).create()
    folder = tmp_path / "units"
    folder.mkdir()
    for path in UNITS.glob("tessera*.*"):
        if path.suffix in (".service", ".timer"):
            (folder / path.name).write_text(install.substitute(path.read_text()))
    result = subprocess.run([analyze, "verify", *sorted(str(p) for p in folder.iterdir())], capture_output=True,
                            text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Unknown key" not in result.stderr, result.stderr
    assert "Unknown section" not in result.stderr, result.stderr


def _wait_for_smtp(process: subprocess.Popen[bytes], port: int, output: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        if process.poll() is not None:
            pytest.fail(f"the SMTP listener exited with {process.returncode}:\n{output.read_text()}")
        with contextlib.suppress(OSError), smtplib.SMTP("127.0.0.1", port, timeout=2) as client:
            code, _ = client.ehlo()
            assert code == 250
            return
        if time.monotonic() > deadline:
            pytest.fail(f"no SMTP answer on port {port} within {START_TIMEOUT:g} s:\n{output.read_text()}")
        time.sleep(0.2)


def set_password(install: Install) -> None:
    """The guide's ``tessera agent set-password admin``, the password on stdin instead of the terminal."""
    done = subprocess.run([str(REPO / "deploy" / "tessera"), "agent", "set-password", "admin"],
                          input=PASSWORD + "\n", env=install.environment(), capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stderr


def _start(argv: list[str], cwd: str, env: dict[str, str], output: Path) -> subprocess.Popen[bytes]:
    with output.open("wb") as sink:
        return subprocess.Popen(argv, cwd=cwd, env=env, stdout=sink, stderr=subprocess.STDOUT,
                                start_new_session=True)


def test_install_then_every_unit_starts(tmp_path: Path) -> None:
    install = Install(tmp_path).create()
    for command in sections()["One machine"]:
        install.run(command)
    set_password(install)

    web = unit("tessera-web.service")
    port = free_port()
    output = tmp_path / "web.log"
    server = _start(exec_start(install, web, port=port), install.substitute(web["Service.WorkingDirectory"]),
                    service_environment(install, web), output)
    try:
        wait_until_answering(server, f"http://127.0.0.1:{port}/readyz", output)
        signed_in = httpx.post(f"http://127.0.0.1:{port}/api/v1/auth/login",
                               json={"login": "admin", "password": PASSWORD}, timeout=10)
        assert signed_in.status_code == 200, signed_in.text
    finally:
        stop(server)

    worker = unit("tessera-worker.service")
    done = subprocess.run([*exec_start(install, worker), "--once"], cwd=install.home,
                          env=service_environment(install, worker), capture_output=True, text=True, timeout=120,
                          check=False)
    assert done.returncode == 0, done.stderr

    smtp = unit("tessera-smtp.service")
    port = free_port()
    output = tmp_path / "smtp.log"
    listener = _start(exec_start(install, smtp, port=port), str(install.home), service_environment(install, smtp),
                      output)
    try:
        _wait_for_smtp(listener, port, output)
    finally:
        stop(listener)

    backup = unit("tessera-backup.service")
    done = subprocess.run(exec_start(install, backup), cwd=install.home, env=service_environment(install, backup),
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert (install.backups / "latest" / "manifest.json").is_file()
