"""Run a DVC command with the SSH server's host key checked against known_hosts.

    python -m pipelines.share push -r ssh-team --run-cache
    python -m pipelines.share pull -r ssh-team

dvc-ssh connects without checking the server's host key (asyncssh is handed known_hosts=None),
so a man in the middle would go unnoticed. This runs the same DVC command line in this process
with the key checked against $CKPT2CPP_KNOWN_HOSTS (default ~/.ssh/known_hosts); an unknown or
changed key stops the transfer. Other remote types behave exactly as with `dvc`.
"""

import os
import sys
from pathlib import Path


def known_hosts_file() -> Path:
    return Path(os.environ.get("CKPT2CPP_KNOWN_HOSTS", "~/.ssh/known_hosts")).expanduser()


def check_host_keys(known_hosts: Path) -> None:
    """Make every SSH connection DVC opens in this process verify the server's key."""
    import sshfs.spec

    connect = sshfs.spec.SSHFileSystem.__init__

    def checked(self, *args, **kwargs):
        kwargs["known_hosts"] = str(known_hosts)
        connect(self, *args, **kwargs)

    sshfs.spec.SSHFileSystem.__init__ = checked


def main(argv: list[str]) -> int:
    known_hosts = known_hosts_file()
    if not known_hosts.is_file():
        print(
            f"error: {known_hosts} not found: add the server's key (ssh-keyscan -p PORT HOST >> it) "
            "or point CKPT2CPP_KNOWN_HOSTS at a known_hosts file",
            file=sys.stderr,
        )
        return 1
    check_host_keys(known_hosts)
    from dvc.cli import main as dvc_main

    return dvc_main(argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
