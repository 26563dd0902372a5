"""Files people send while a report is being written, stored by content hash."""
from __future__ import annotations

import hashlib
import mimetypes
import re
from pathlib import Path
from typing import List, Optional

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from storage.files import write_atomically
from storage.models import Attachment

ATTACHMENT_KINDS = ("photo", "document", "video", "audio")
# Built once: the count runs on every channel message, and building a statement costs more
# CPU than SQLite takes to answer it.
_COUNT_PENDING = select(func.count(Attachment.id)).where(
    Attachment.sender_ref == bindparam("sender_ref"), Attachment.report_id.is_(None))
_SUFFIX = re.compile(r"^\.[A-Za-z0-9]{1,8}$")


def _suffix(file_name: Optional[str], media_type: str) -> str:
    """A safe file extension: from the sender's file name, else from the media type."""
    if file_name:
        suffix = Path(file_name).suffix.lower()
        if _SUFFIX.match(suffix):
            return suffix
    guessed = mimetypes.guess_extension((media_type or "").split(";")[0].strip())
    return guessed if guessed and _SUFFIX.match(guessed) else ""


def write_content_addressed(data: bytes, directory: Path, suffix: str) -> tuple[Path, str]:
    """Write ``data`` once under ``directory/<sha[:2]>/<sha><suffix>``; the same bytes share a file."""
    digest = hashlib.sha256(data).hexdigest()
    target = Path(directory) / digest[:2] / f"{digest}{suffix}"
    if not target.exists():
        write_atomically(target, data)
    return target, digest


class AttachmentRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def save(
        self,
        sender_ref: str,
        kind: str,
        media_type: str,
        file_name: Optional[str],
        data: bytes,
        directory: Path,
    ) -> Attachment:
        """Store the file and a pending row; ReportRepository.file links it to the report."""
        if kind not in ATTACHMENT_KINDS:
            raise ValueError(f"attachment kind {kind!r} is not one of {ATTACHMENT_KINDS}")
        path, digest = write_content_addressed(data, Path(directory), _suffix(file_name, media_type))
        attachment = Attachment(
            sender_ref=sender_ref,
            kind=kind,
            media_type=media_type,
            file_name=Path(file_name).name[:255] if file_name else None,
            size_bytes=len(data),
            sha256=digest,
            storage_path=str(path),
        )
        self.session.add(attachment)
        self.session.flush()
        return attachment

    def pending(self, sender_ref: str) -> List[Attachment]:
        return list(
            self.session.execute(
                select(Attachment)
                .where(Attachment.sender_ref == sender_ref, Attachment.report_id.is_(None))
                .order_by(Attachment.id)
            ).scalars()
        )

    def count_pending(self, sender_ref: str) -> int:
        return self.session.execute(_COUNT_PENDING, {"sender_ref": sender_ref}).scalar_one()

    def for_report(self, report_id: int) -> List[Attachment]:
        return list(
            self.session.execute(
                select(Attachment).where(Attachment.report_id == report_id).order_by(Attachment.id)
            ).scalars()
        )
