"""The default Rasa assistant (`rasa init`), trained once per Rasa version and cached.

Why: issue 6 compares our whole stack with what `rasa init --no-prompt` gives anyone (its
default pipeline and policies, DIET and TED included). Training it takes minutes on two cores,
so the trained model is kept under ``$SAPALAPOR_HOME/bench`` (or ``~/.cache/sapalapor/bench``)
keyed by the Rasa version, and every later run only serves it.
"""
from __future__ import annotations

import logging
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from bot.rasa_project import RASA_VERSION, _file_lock, _rasa_env, rasa_executable

log = logging.getLogger(__name__)


def cache_dir() -> Path:
    home = os.environ.get("SAPALAPOR_HOME") or str(Path.home() / ".cache" / "sapalapor")
    path = Path(home) / "bench" / f"rasa-init-{RASA_VERSION}"
    path.mkdir(parents=True, exist_ok=True)
    return path


def ensure_default_model() -> Path:
    """Return the cached model of the `rasa init` assistant, creating and training it if missing."""
    directory = cache_dir()
    target = directory / "model.tar.gz"
    if target.exists():
        return target
    with _file_lock(directory / ".training.lock"):
        if target.exists():
            return target
        log.info("Training the default `rasa init` assistant once (cached in %s)", directory)
        with tempfile.TemporaryDirectory(prefix="rasa-init-") as scratch:
            project = Path(scratch) / "project"
            project.mkdir()  # `rasa init` refuses a directory that does not exist
            # `rasa init --no-prompt` creates the project *and* trains it with the defaults.
            subprocess.run(
                [rasa_executable(), "init", "--no-prompt", "--init-dir", str(project)],
                cwd=scratch, check=True, env=_rasa_env(), stdout=subprocess.DEVNULL,
            )
            models = sorted((project / "models").glob("*.tar.gz"))
            if not models:
                raise RuntimeError("`rasa init --no-prompt` produced no model")
            shutil.copytree(project, directory / "project", dirs_exist_ok=True,
                            ignore=shutil.ignore_patterns("models", ".rasa"))
            shutil.move(str(models[-1]), str(target))
    return target


def start_default_server(runtime_dir: Path, host: str = "127.0.0.1") -> "DefaultServer":
    """Serve the default assistant exactly as `rasa init` leaves it: REST channel, no action server."""
    from bot.rasa_project import free_port, wait_until_ready

    model = ensure_default_model()
    runtime_dir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    credentials = runtime_dir / "credentials.yml"
    credentials.write_text("rest:\n", encoding="utf-8")
    log_path = runtime_dir / "rasa-default.log"
    process = subprocess.Popen(
        [rasa_executable(), "run", "--model", str(model), "--credentials", str(credentials),
         "--interface", host, "--port", str(port), "--enable-api"],
        cwd=runtime_dir, env=_rasa_env(), stdout=open(log_path, "ab"), stderr=subprocess.STDOUT,
    )
    url = f"http://{host}:{port}"
    try:
        wait_until_ready(f"{url}/status", process, timeout=300)
    except Exception:
        process.kill()
        process.wait()
        raise
    return DefaultServer(url=url, process=process, log_path=log_path)


class DefaultServer:
    def __init__(self, url: str, process: subprocess.Popen, log_path: Path) -> None:
        self.url = url
        self.process = process
        self.log_path = log_path

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    print(ensure_default_model())
