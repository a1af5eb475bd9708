"""Starts `ed-alerts serve` as a real process for end-to-end tests, and kills it when asked."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ServiceProcess:
    def __init__(self, db_url: str, sites_file: Path, log_path: Path, **env: str) -> None:
        self.http_port = free_port()
        self.mllp_port = free_port()
        self.log_path = log_path
        self.env = {
            **os.environ,
            "ED_ALERTS_DATABASE_URL": db_url,
            "ED_ALERTS_SITES_FILE": str(sites_file),
            "ED_ALERTS_MLLP_PORT": str(self.mllp_port),
            "ED_ALERTS_HTTP_PORT": str(self.http_port),
            "ED_ALERTS_SCHEDULER_ENABLED": "false",  # on only for the tests about it (pass it in env)
            **env,
        }
        self.proc: subprocess.Popen[bytes] | None = None
        self.children_seen: list[psutil.Process] = []  # worker processes, one per start

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def start(self, timeout: float = 60) -> None:
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen([sys.executable, "-m", "ed_alerts", "serve"], env=self.env,
                                     stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"service exited early: {self.log_path.read_text()[-3000:]}")
            try:
                # /readyz: with the ingest worker process up and its rules loaded
                if httpx.get(self.base_url + "/readyz", timeout=1).status_code == 200:
                    with socket.create_connection(("127.0.0.1", self.mllp_port), timeout=1):
                        self._note_workers()
                        return
            except (httpx.HTTPError, OSError):
                pass
            time.sleep(0.1)
        raise RuntimeError(f"service did not start: {self.log_path.read_text()[-3000:]}")

    def _note_workers(self) -> None:
        assert self.proc is not None
        for child in psutil.Process(self.proc.pid).children(recursive=True):
            command = " ".join(child.cmdline())
            if "spawn_main" in command and "resource_tracker" not in command:
                self.children_seen.append(child)

    def kill(self) -> None:
        """SIGKILL: no clean-up, no flush: what a power-cut-free crash looks like to the database."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
