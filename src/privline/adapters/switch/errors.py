"""Errors of the switch adapter (Kamailio, rtpengine, prompts).

    SwitchError (retryable)
    ├── ConfigError          bad switch settings or a missing binary; retry cannot help
    ├── ProcessError         a daemon did not start or stop as asked
    ├── NgError              rtpengine's ng protocol failed
    │   └── NgTimeout        no answer in time; a retry may help
    └── PromptError          espeak-ng or sox failed to make a prompt
"""

from __future__ import annotations


class SwitchError(Exception):
    retryable = False

    def __init__(self, message: str, *, retryable: bool | None = None) -> None:
        super().__init__(message)
        if retryable is not None:
            self.retryable = retryable


class ConfigError(SwitchError):
    pass


class ProcessError(SwitchError):
    pass


class NgError(SwitchError):
    pass


class NgTimeout(NgError):
    retryable = True


class PromptError(SwitchError):
    pass
