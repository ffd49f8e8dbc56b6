"""Sharing through DVC remotes: a real sshd and a real S3 endpoint on 127.0.0.1.

Each round trip: push (with the run-cache) from the built sr project, `git clone` it, pull,
and prove every artifact is byte-identical, `dvc status` is clean and `dvc repro` runs nothing.
"""

import contextlib
import filecmp
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import REPO, assert_up_to_date, compose, env, run, stages_run

pytestmark = pytest.mark.pipeline

OUTPUTS = ["artifacts", "build/bin", "reports/index.html", "metrics/evaluate.json"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, process: subprocess.Popen, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port}")


@pytest.fixture(scope="module")
def built(sr_project) -> Path:
    """The sr project with its build committed, so a clone knows every output (dvc.lock)."""
    run(["git", "add", "-A"], sr_project)
    run(["git", "commit", "-qm", "built", "--allow-empty"], sr_project)
    return sr_project


def same_tree(a: Path, b: Path) -> list[str]:
    """Relative paths under the outputs that differ in content (or exist on one side only)."""
    differ = []
    for output in OUTPUTS:
        files = (
            [output]
            if (a / output).is_file()
            else [
                str(p.relative_to(a))
                for p in (a / output).rglob("*")
                if p.is_file() and p.name != ".gitignore"
            ]
        )
        differ += [
            f
            for f in files
            if not (b / f).is_file() or not filecmp.cmp(a / f, b / f, shallow=False)
        ]
    return differ


def timed(command: list[str], cwd: Path, extra_env: dict[str, str] | None = None) -> float:
    started = time.perf_counter()
    result = run(command, cwd, check=False, timeout=1800, extra_env=extra_env)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return time.perf_counter() - started


def round_trip(
    built: Path,
    clone: Path,
    remote: str,
    local_settings: list[list[str]],
    dvc: list[str],
    extra_env: dict[str, str] | None = None,
) -> dict[str, float]:
    """push -> clone -> pull -> identical, clean, nothing to rerun; returns the timings."""
    seconds = {"push": timed([*dvc, "push", "-r", remote, "--run-cache"], built, extra_env)}
    run(["git", "clone", "-q", str(built), str(clone)], built)
    for args in local_settings:
        run(["dvc", "remote", "modify", "--local", remote, *args], clone)
    seconds["pull"] = timed([*dvc, "pull", "-r", remote], clone, extra_env)
    assert same_tree(built, clone) == []
    assert_up_to_date(clone)
    assert stages_run(run(["dvc", "repro"], clone).stdout) == []
    print(f"{remote}: push {seconds['push']:.1f} s, pull {seconds['pull']:.1f} s")
    return seconds


def start_sshd(folder: Path, port: int) -> subprocess.Popen:
    """sshd on 127.0.0.1:`port` with the keys and config in `folder` (see the sshd fixture)."""
    daemon = shutil.which("sshd") or "/usr/sbin/sshd"
    Path("/run/sshd").mkdir(exist_ok=True)  # privilege separation directory
    process = subprocess.Popen(
        [daemon, "-D", "-e", "-f", str(folder / "sshd_config")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its per-connection children share its process group
    )
    wait_for_port(port, process)
    return process


def connections(sshd_pid: int) -> list[int]:
    """The processes sshd started for its connections (its children; each has its own session,
    so they outlive a kill of sshd's process group)."""
    children = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(line.split(":\t", 1) for line in status.read_text().splitlines())
        except (OSError, ValueError):  # the process ended while we read
            continue
        if fields.get("PPid", "").strip() == str(sshd_pid):
            children.append(int(status.parent.name))
    return children


def stop_sshd(process: subprocess.Popen) -> None:
    """Kill sshd and every connection it serves, as a crashed or powered-off server would."""
    doomed, found = [process.pid], [process.pid]
    while found:  # the whole tree, children before they can be reparented
        found = [child for pid in found for child in connections(pid)]
        doomed += found
    for pid in doomed:
        with contextlib.suppress(ProcessLookupError):  # already stopped
            os.kill(pid, signal.SIGKILL)
    process.wait(timeout=10)


@pytest.fixture(scope="module")
def sshd(tmp_path_factory):
    if not Path(shutil.which("sshd") or "/usr/sbin/sshd").is_file():
        pytest.skip("openssh-server is not installed (make test-deps)")
    folder = tmp_path_factory.mktemp("sshd")
    for key in ("host_key", "client_key"):
        run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(folder / key)], folder)
    shutil.copy(folder / "client_key.pub", folder / "authorized_keys")
    port = free_port()
    (folder / "sshd_config").write_text(
        f"Port {port}\nListenAddress 127.0.0.1\nHostKey {folder / 'host_key'}\n"
        f"PidFile {folder / 'sshd.pid'}\n"
        f"AuthorizedKeysFile {folder / 'authorized_keys'}\nPasswordAuthentication no\n"
        "KbdInteractiveAuthentication no\nPubkeyAuthentication yes\nPermitRootLogin prohibit-password\n"
        "StrictModes no\nUsePAM no\nSubsystem sftp internal-sftp\n"
    )
    host_key = (folder / "host_key.pub").read_text().split()
    (folder / "known_hosts").write_text(f"[127.0.0.1]:{port} {host_key[0]} {host_key[1]}\n")
    server = {"port": port, "folder": folder, "user": os.environ.get("USER") or "root"}
    server["process"] = start_sshd(folder, port)  # a test that restarts it replaces this
    yield server
    stop_sshd(server["process"])


@pytest.fixture(scope="module")
def ssh_remote(built, sshd) -> dict:
    """The `ssh-team` remote of the built project, committed; its credentials (a key path and a
    user) are set with --local, so they stay out of git and every clone must set them again."""
    remote = "ssh-team"
    store = sshd["folder"] / "store"
    run(["dvc", "remote", "add", remote, f"ssh://127.0.0.1:{sshd['port']}{store}"], built)
    credentials = [["keyfile", str(sshd["folder"] / "client_key")], ["user", sshd["user"]]]
    for args in credentials:
        run(["dvc", "remote", "modify", "--local", remote, *args], built)
    run(["git", "commit", "-qam", "ssh remote"], built)
    return {"name": remote, "credentials": credentials}


def test_ssh_round_trip_with_host_key_checking(built, sshd, ssh_remote, tmp_path):
    remote, credentials = ssh_remote["name"], ssh_remote["credentials"]
    key = str(sshd["folder"] / "client_key")
    assert key not in (built / ".dvc/config").read_text()
    checked = {"CKPT2CPP_KNOWN_HOSTS": str(sshd["folder"] / "known_hosts")}
    share = [sys.executable, "-m", "pipelines.share"]
    round_trip(built, tmp_path / "clone", remote, credentials, share, checked)

    # a teammate who only pulls: `dvc repro --pull` restores everything and runs nothing
    teammate = tmp_path / "teammate"
    run(["git", "clone", "-q", str(built), str(teammate)], built)
    for args in credentials:
        run(["dvc", "remote", "modify", "--local", remote, *args], teammate)
    run(["dvc", "remote", "default", "--local", remote], teammate)
    log = run([*share, "repro", "--pull"], teammate, check=False, timeout=1800, extra_env=checked)
    assert log.returncode == 0, log.stderr[-3000:]
    assert stages_run(log.stdout) == []

    # a changed parameter reruns only what depends on it, and the result goes back up (the
    # C++ cells only: the same one stage, in a quarter of the time)
    compose(teammate, "evaluate.languages=[cpp]")
    assert stages_run(run(["dvc", "repro"], teammate).stdout) == ["evaluate", "package"]
    timed([*share, "push", "-r", remote], teammate, checked)


def test_a_host_key_that_does_not_match_stops_the_transfer(built, sshd, ssh_remote, tmp_path):
    wrong = tmp_path / "known_hosts"
    run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp_path / "other")], tmp_path)
    other = (tmp_path / "other.pub").read_text().split()
    wrong.write_text(f"[127.0.0.1]:{sshd['port']} {other[0]} {other[1]}\n")
    result = run(
        [sys.executable, "-m", "pipelines.share", "push", "-r", ssh_remote["name"]],
        built,
        check=False,
        timeout=300,
        extra_env={"CKPT2CPP_KNOWN_HOSTS": str(wrong)},
    )
    assert result.returncode != 0
    assert "host key" in (result.stdout + result.stderr).lower()


def test_a_push_cut_off_by_the_server_going_away_completes_on_retry(
    built, sshd, ssh_remote, tmp_path
):
    """sshd killed mid-push: a clear error; after a restart, the retry uploads what is missing
    and a fresh clone pulls every artifact byte for byte."""
    remote, store = "ssh-flaky", sshd["folder"] / "flaky-store"
    url = f"ssh://127.0.0.1:{sshd['port']}{store}"
    run(["dvc", "remote", "add", "--local", remote, url], built)  # stays out of git
    for args in ssh_remote["credentials"]:
        run(["dvc", "remote", "modify", "--local", remote, *args], built)
    checked = {"CKPT2CPP_KNOWN_HOSTS": str(sshd["folder"] / "known_hosts")}
    share = [sys.executable, "-m", "pipelines.share"]
    push = subprocess.Popen(
        [*share, "push", "-r", remote, "-j", "1"], cwd=built, env=env(checked),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 120
    while not connections(sshd["process"].pid):  # the push has connected
        assert push.poll() is None, f"the push ended before it connected: {push.stdout.read()}"
        assert time.monotonic() < deadline, "the push did not connect in 120 s"
        time.sleep(0.005)
    stop_sshd(sshd["process"])
    log = push.communicate(timeout=300)[0]
    assert push.returncode != 0, log
    assert any(line.startswith("ERROR: ") for line in log.splitlines()), log[-2000:]

    sshd["process"] = start_sshd(sshd["folder"], sshd["port"])
    timed([*share, "push", "-r", remote], built, checked)
    assert "in sync" in run(["dvc", "status", "-c", "-r", remote], built).stdout
    clone = tmp_path / "clone"
    run(["git", "clone", "-q", str(built), str(clone)], built)
    run(["dvc", "remote", "add", "--local", remote, url], clone)
    for args in ssh_remote["credentials"]:
        run(["dvc", "remote", "modify", "--local", remote, *args], clone)
    timed([*share, "pull", "-r", remote], clone, checked)
    assert same_tree(built, clone) == []


@pytest.fixture(scope="module")
def s3_endpoint(tmp_path_factory):
    server = REPO / ".venv-moto/bin/moto_server"
    if not server.is_file():
        pytest.skip("moto[server] is not installed in .venv-moto (make test-deps)")
    port = free_port()
    process = subprocess.Popen(
        [str(server), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_for_port(port, process)
    url = f"http://127.0.0.1:{port}"
    urllib.request.urlopen(urllib.request.Request(f"{url}/ckpt2cpp", method="PUT"), timeout=30)
    yield url
    process.terminate()
    process.wait(timeout=10)


def test_s3_round_trip(built, s3_endpoint, tmp_path):
    remote = "s3-team"
    run(["dvc", "remote", "add", remote, "s3://ckpt2cpp/store"], built)
    run(["dvc", "remote", "modify", remote, "endpointurl", s3_endpoint], built)
    credentials = [["access_key_id", "testing"], ["secret_access_key", "testing"]]
    for args in credentials:
        run(["dvc", "remote", "modify", "--local", remote, *args], built)
    run(["git", "commit", "-qam", "s3 remote"], built)
    assert "testing" not in (built / ".dvc/config").read_text()
    round_trip(built, tmp_path / "clone", remote, credentials, ["dvc"])
