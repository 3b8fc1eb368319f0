"""Spoken prompts: espeak-ng speaks the words, sox makes an 8 kHz mono G.711 A-law WAV.

A-law because it is the calls' own codec: rtpengine then plays the file without setting
up a transcoder. Measured on 2 cores (rtpengine 10.5), two ``play media`` per call cost
rtpengine 12.3 ms of CPU with a 16-bit PCM file and 1.7 ms with the same words in
A-law; with a warning played on every answered call, that decided the switch's capacity
(see docs/overload.md). A phone on another codec still hears it, transcoded.

Files are named by prompt id and a hash of the words, so a changed facility name or rate
makes a new file and an unchanged one is made once. Writes go through a temporary file
and a rename, so a player never sees half a file.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

from privline.adapters.switch.errors import PromptError

# sox's output options: the format every prompt file has.
ALAW = ["-r", "8000", "-c", "1", "-e", "a-law", "-b", "8"]


def _run(argv: list[str]) -> None:
    try:
        subprocess.run(argv, check=True, capture_output=True, timeout=30)  # noqa: S603
    except FileNotFoundError as exc:
        raise PromptError(f"{argv[0]} is not installed") from exc
    except subprocess.CalledProcessError as exc:
        raise PromptError(f"{argv[0]} failed: {exc.stderr.decode(errors='replace')}") from exc
    except subprocess.TimeoutExpired as exc:
        raise PromptError(f"{argv[0]} timed out", retryable=True) from exc


class Prompts:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)

    def _name(self, key: str, words: str) -> Path:
        digest = hashlib.sha256(words.encode()).hexdigest()[:16]
        # "alaw" in the name: files made before in another format are not reused.
        return self.folder / f"{key}-{digest}-alaw.wav"

    def speak(self, prompt_id: str, words: str) -> Path:
        """The WAV for one prompt, made if missing."""
        target = self._name(prompt_id, words)
        if target.exists():
            return target
        espeak = shutil.which("espeak-ng") or "espeak-ng"
        sox = shutil.which("sox") or "sox"
        with tempfile.TemporaryDirectory(dir=self.folder) as tmp:
            raw = Path(tmp) / "raw.wav"
            out = Path(tmp) / "out.wav"
            _run([espeak, "-s", "160", "-w", str(raw), words])
            _run([sox, str(raw), *ALAW, str(out)])
            os.replace(out, target)
        return target

    def ringback(self) -> Path:
        """The ring tone a resident hears while the called party is rung and decides:
        440 + 480 Hz, 2 s on and 4 s off (the North American ringback), made by sox."""
        target = self.folder / "ringback-440-480-2-4-alaw.wav"
        if target.exists():
            return target
        sox = shutil.which("sox") or "sox"
        with tempfile.TemporaryDirectory(dir=self.folder) as tmp:
            out = Path(tmp) / "out.wav"
            _run([sox, "-n", *ALAW, str(out), "synth", "2", "sine", "440", "sine", "mix",
                  "480", "vol", "0.4", "pad", "0", "4"])
            os.replace(out, target)
        return target

    def sequence(self, parts: Sequence[tuple[str, str]]) -> Path:
        """One WAV saying several prompts in order (played as one, under one block)."""
        if len(parts) == 1:
            return self.speak(*parts[0])
        files = [self.speak(pid, words) for pid, words in parts]
        key = "+".join(pid for pid, _ in parts)
        target = self._name("seq-" + key, "\n".join(words for _, words in parts))
        if target.exists():
            return target
        sox = shutil.which("sox") or "sox"
        with tempfile.TemporaryDirectory(dir=self.folder) as tmp:
            out = Path(tmp) / "out.wav"
            _run([sox, *map(str, files), *ALAW, str(out)])
            os.replace(out, target)
        return target
