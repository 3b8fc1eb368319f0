"""The vault's I/O, built from settings: rtpengine's spool, the master key, the blob folder."""

from __future__ import annotations

from privline.adapters.vault import FolderBlobStore, MasterKey
from privline.adapters.vault.service_io import Blobs, MasterKeyring, SpoolSource
from privline.services.vault_ports import Vault
from privline.settings import Settings


def open_vault(settings: Settings) -> Vault:
    """Raises MasterKeyError if the key file is missing or readable by others."""
    master = MasterKey.load(settings.master_key_path)
    return Vault(
        source=SpoolSource(settings.recording_spool),
        keys=MasterKeyring(master),
        blobs=Blobs(FolderBlobStore(settings.vault_path)),
    )
