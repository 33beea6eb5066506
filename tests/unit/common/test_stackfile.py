"""A data dir's memory of its stack: ports taken again on restart, and commands that
attach to the running stack or say there is none."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import pytest

from lookout_devstack.embedded.process import free_port
from lookout_devstack.embedded.stackfile import NoStack, Ports, attach, process_record


def test_a_restart_takes_the_ports_of_the_last_run(tmp_path: Path) -> None:
    first = Ports(tmp_path)
    port = first.pick("kafka", None)
    assert Ports(tmp_path).pick("kafka", 9) == port  # the last run's, not the preferred


def test_a_port_taken_meanwhile_falls_back_to_the_preferred_then_any(tmp_path: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        taken = holder.getsockname()[1]
        (tmp_path / "ports.json").write_text(json.dumps({"kafka": taken}))
        preferred = free_port()
        assert Ports(tmp_path).pick("kafka", preferred) == preferred
        ports = Ports(tmp_path)
        other = ports.pick("kafka", taken)
        assert other != taken
        assert ports.pick("postgres", other) != other  # never two components on one port


def test_fresh_skips_the_last_and_preferred_ports(tmp_path: Path) -> None:
    ports = Ports(tmp_path)
    port = ports.pick("s3", None)
    assert Ports(tmp_path).pick("s3", port, fresh=True) != port


def test_attach_without_a_running_stack_names_the_way_out(tmp_path: Path) -> None:
    with pytest.raises(NoStack, match=r"no running stack in .*lookout up --data-dir"):
        attach(tmp_path)
    # A stack file whose lookout up is gone is not a running stack either.
    (tmp_path / "stack.json").write_text(
        json.dumps({"owner": {"pid": os.getpid(), "started": 0.0}, "env": {}})
    )
    with pytest.raises(NoStack):
        attach(tmp_path)


def test_attach_sets_the_stacks_settings_and_keys(tmp_path: Path, monkeypatch) -> None:
    # Recorded by monkeypatch, so what attach sets is undone after the test.
    monkeypatch.setenv("LOOKOUT_DATABASE_URL", "postgresql://elsewhere/lookout")
    monkeypatch.setenv("LOOKOUT_BACKUP_KEY", "another-key")
    (tmp_path / "backup.key").write_text("a-key\n")
    info = {
        "owner": process_record(os.getpid()),
        "env": {"LOOKOUT_DATABASE_URL": "postgresql://stack/lookout"},
        "key_files": {"LOOKOUT_BACKUP_KEY": "backup.key"},
    }
    (tmp_path / "stack.json").write_text(json.dumps(info))
    assert attach(tmp_path) == info
    assert os.environ["LOOKOUT_DATABASE_URL"] == "postgresql://stack/lookout"
    assert os.environ["LOOKOUT_BACKUP_KEY"] == "a-key"
