"""The files of deploy/: systemd units (``systemd-analyze verify`` where it exists), the
Dockerfile and compose file (read statically: no Docker engine here), the Windows task and
service, and the example config. Every command line they hold is parsed by the real CLI."""

from __future__ import annotations

import dataclasses
import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from qep_sync.cli import main
from qep_sync.config import LogSettings, Schedule, parse_config

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
SYSTEMD = DEPLOY / "systemd"
UNITS = sorted(p for p in SYSTEMD.iterdir() if p.suffix in (".service", ".timer"))
INSTALLED = "/opt/qep-sync/.venv/bin/qep-sync"


def unit(path: Path) -> dict[str, dict[str, list[str]]]:
    """A unit file as {section: {key: [values…]}} (keys may repeat)."""
    sections: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            current = sections.setdefault(line.strip("[]"), {})
            continue
        key, _, value = line.partition("=")
        current.setdefault(key.strip(), []).append(value.strip())
    return sections


def accepts(args: list[str]) -> None:
    """The real CLI parses these arguments (checked with --help, so nothing runs)."""
    result = CliRunner().invoke(main, [*args, "--help"])
    assert result.exit_code == 0, (args, result.output)


# ---------------------------------------------------------------- systemd


@pytest.mark.skipif(
    shutil.which("systemd-analyze") is None and not os.environ.get("CI"),
    reason="systemd-analyze absent (installed by .ci/run: in CI this test always runs)",
)
def test_systemd_analyze_verifies_every_unit(tmp_path: Path) -> None:
    binary = Path(sys.executable).parent / "qep-sync"
    assert binary.exists()
    for path in UNITS:  # the same units, pointing at this machine's qep-sync
        text = path.read_text(encoding="utf-8").replace(INSTALLED, str(binary))
        (tmp_path / path.name).write_text(text, encoding="utf-8")
    result = subprocess.run(
        ["systemd-analyze", "verify", *(str(tmp_path / p.name) for p in UNITS)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == "" and result.stdout.strip() == ""


def test_the_serve_unit_is_hardened() -> None:
    service = unit(SYSTEMD / "qep-sync.service")["Service"]
    one = {k: v[-1] for k, v in service.items()}
    assert one["User"] == "qep-sync" and one["Group"] == "qep-sync"
    assert one["NoNewPrivileges"] == "yes" and one["ProtectSystem"] == "strict"
    assert one["ProtectHome"] == "yes" and one["PrivateTmp"] == "yes"
    assert one["CapabilityBoundingSet"] == ""
    assert set(one["ReadWritePaths"].split()) == {
        "/srv/qualite",
        "/var/lib/qep-sync",
        "/var/log/qep-sync",
    }
    assert one["Restart"] == "on-failure" and one["RestartPreventExitStatus"] == "2"
    assert one["KillSignal"] == "SIGTERM" and int(one["TimeoutStopSec"]) >= 30
    command = shlex.split(one["ExecStart"])
    assert command[0] == INSTALLED and command[1] == "serve"
    accepts(command[1:])


def test_the_timer_variant_runs_sync_and_alerts_once_each_time() -> None:
    for kind in ("sync", "alerts"):
        service = unit(SYSTEMD / f"qep-sync-{kind}.service")["Service"]
        assert service["Type"] == ["oneshot"]
        assert service["NoNewPrivileges"] == ["yes"] and service["ProtectSystem"] == ["strict"]
        command = shlex.split(service["ExecStart"][0])
        assert command[:2] == [INSTALLED, kind]
        accepts(command[1:])
        timer = unit(SYSTEMD / f"qep-sync-{kind}.timer")
        assert timer["Timer"]["Unit"] == [f"qep-sync-{kind}.service"]
        assert timer["Timer"]["OnCalendar"][0].endswith("Europe/Paris")
        assert timer["Install"]["WantedBy"] == ["timers.target"]


# ---------------------------------------------------------------- Docker


def dockerfile_instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    lines = [ln for ln in path.read_text(encoding="utf-8").splitlines()
             if not ln.lstrip().startswith("#")]  # fmt: skip
    text = re.sub(r"\\\n", " ", "\n".join(lines))
    found = []
    for line in text.splitlines():
        if line.strip():
            word, _, rest = line.strip().partition(" ")
            found.append((word.upper(), rest.strip()))
    return found


def test_the_dockerfile_runs_serve_as_a_non_root_user_with_volumes() -> None:
    import json

    steps = dockerfile_instructions(DEPLOY / "docker" / "Dockerfile")
    stages = [i for i, (word, _) in enumerate(steps) if word == "FROM"]
    final = steps[stages[-1] :]
    base = final[0][1]
    version = re.match(r"python:(\d+)\.(\d+)", base)
    assert version and (int(version[1]), int(version[2])) >= (3, 11)
    users = [arg for word, arg in final if word == "USER"]
    assert users and users[-1].split(":")[0] not in ("root", "0")
    volumes = json.loads(next(arg for word, arg in final if word == "VOLUME"))
    assert set(volumes) == {"/workspace", "/state"}
    entry = json.loads(next(arg for word, arg in final if word == "ENTRYPOINT"))
    cmd = json.loads(next(arg for word, arg in final if word == "CMD"))
    assert entry + cmd[:1] == ["qep-sync", "serve"]
    accepts(cmd)
    assert ("STOPSIGNAL", "SIGTERM") in final
    health = next(arg for word, arg in final if word == "HEALTHCHECK")
    assert "qep-sync status" in health
    env = " ".join(arg for word, arg in final if word == "ENV")
    assert "QEP_SYNC_CONFIG=/workspace/qep-sync.toml" in env and "TZ=Europe/Paris" in env
    for word, arg in steps:  # what is copied from the build context exists in the repository
        if word == "COPY" and not arg.startswith("--from"):
            for source in arg.split()[:-1]:
                assert (ROOT / source).exists(), source
    ignored = (DEPLOY / "docker" / "Dockerfile.dockerignore").read_text(encoding="utf-8")
    assert "*" in ignored.splitlines() and "!qep_sync/" in ignored


def test_the_compose_file_keeps_the_container_unprivileged() -> None:
    compose = yaml.safe_load((DEPLOY / "docker" / "compose.yaml").read_text(encoding="utf-8"))
    service = compose["services"]["qep-sync"]
    build = service["build"]
    assert (DEPLOY / "docker" / build["context"] / build["dockerfile"]).resolve() == (
        DEPLOY / "docker" / "Dockerfile"
    )
    assert service["user"] == "10001:10001"
    assert service["read_only"] is True and service["cap_drop"] == ["ALL"]
    assert "no-new-privileges:true" in service["security_opt"]
    assert service["stop_signal"] == "SIGTERM" and service["restart"] == "unless-stopped"
    targets = {v.split(":")[1] for v in service["volumes"]}
    assert targets == {"/workspace", "/state"}
    assert "qep-state:/state" in service["volumes"] and "qep-state" in compose["volumes"]
    assert service["environment"]["QEP_SYNC_CONFIG"] == "/workspace/qep-sync.toml"
    assert service["command"][0] == "serve"
    accepts(service["command"])


# ---------------------------------------------------------------- Windows


def test_the_windows_scheduled_task_starts_serve_at_boot() -> None:
    ns = {"t": "http://schemas.microsoft.com/windows/2004/02/mit/task"}
    root = ET.parse(DEPLOY / "windows" / "qep-sync-serve.xml").getroot()
    assert root.tag == "{http://schemas.microsoft.com/windows/2004/02/mit/task}Task"
    assert root.find("t:Triggers/t:BootTrigger", ns) is not None
    assert root.findtext("t:Principals/t:Principal/t:RunLevel", namespaces=ns) == "LeastPrivilege"
    settings = root.find("t:Settings", ns)
    assert settings is not None
    assert settings.findtext("t:MultipleInstancesPolicy", namespaces=ns) == "IgnoreNew"
    assert settings.findtext("t:ExecutionTimeLimit", namespaces=ns) == "PT0S"
    command = root.findtext("t:Actions/t:Exec/t:Command", namespaces=ns)
    assert command is not None and command.endswith(r"\Scripts\qep-sync.exe")
    arguments = root.findtext("t:Actions/t:Exec/t:Arguments", namespaces=ns)
    assert arguments is not None
    args = [a.strip('"') for a in shlex.split(arguments, posix=False)]
    assert args[0] == "serve" and args[2].startswith("C:\\ProgramData\\")
    accepts(args)


def test_the_winsw_service_runs_serve_and_restarts_it() -> None:
    root = ET.parse(DEPLOY / "windows" / "qep-sync-winsw.xml").getroot()
    assert root.tag == "service" and root.findtext("id") == "qep-sync"
    executable = root.findtext("executable")
    assert executable is not None and executable.endswith(r"\Scripts\qep-sync.exe")
    arguments = root.findtext("arguments")
    assert arguments is not None
    args = [a.strip('"') for a in shlex.split(arguments, posix=False)]
    assert args[0] == "serve"
    accepts(args)
    failure = root.find("onfailure")
    assert failure is not None and failure.get("action") == "restart"
    assert root.findtext("stoptimeout") == "60 sec"


# ---------------------------------------------------------------- example config


def test_the_example_config_is_valid_and_shows_every_service_setting(tmp_path: Path) -> None:
    text = (DEPLOY / "qep-sync.exemple.toml").read_text(encoding="utf-8")
    raw = tomllib.loads(text)
    for source in raw["sources"]:
        path = tmp_path / source["path"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"")  # only its existence is checked on load
    config = parse_config(raw, tmp_path, tmp_path / "qep-sync.toml")
    assert config.schedule.alerts_at.strftime("%H:%M") == "08:30"
    assert config.logging.format == "json" and config.smtp is not None
    assert set(raw["schedule"]) == {f.name for f in dataclasses.fields(Schedule)}
    assert set(raw["logging"]) == {f.name for f in dataclasses.fields(LogSettings)}
    assert "password =" not in text  # only the name of the variable
    comments = [ln for ln in text.splitlines() if ln.startswith("#")]
    assert len(comments) > 30 and "Configuration de qep-sync" in comments[0]
