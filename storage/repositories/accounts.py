"""Staff accounts of the console: creation, password checks, roles.

Passwords are hashed with argon2id at OWASP's recommended minimum (19 MiB, 2 passes, 1 lane):
argon2-cffi's default (64 MiB, 3 passes, 4 lanes) cost 370 ms of CPU per sign-in here, on two
cores shared with Rasa; this costs about 50 ms and is still memory-hard. The hash string carries
its own parameters and salt, so a change of parameters rehashes an account at its next sign-in
(``check_needs_rehash``). A sign-in against an unknown username still spends one hash, so the
answer time does not tell which usernames exist.
"""
from __future__ import annotations

import datetime as dt
import functools
from typing import List, Optional

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from storage.models import STAFF_ROLES, StaffAccount, StaffSession, utcnow

MIN_PASSWORD_LENGTH = 12
_HASHER = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)


@functools.lru_cache(maxsize=1)
def _dummy_hash() -> str:
    """Checked against when the username is unknown (same cost as a real check); made on first use."""
    return _HASHER.hash("not-a-password-of-anyone")


class AccountError(ValueError):
    """An account that cannot be created or changed; the message is fit for an administrator."""


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"password must be at least {MIN_PASSWORD_LENGTH} characters long")
    return _HASHER.hash(password)


def password_matches(stored_hash: Optional[str], password: str) -> bool:
    """Whether ``password`` is the one hashed; with no hash, one dummy check is spent all the same."""
    if stored_hash is None:
        password_matches(_dummy_hash(), password)
        return False
    try:
        return _HASHER.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


class AccountRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def create(self, username: str, display_name: str, role: str, password: str,
               agency: Optional[str] = None) -> StaffAccount:
        username = username.strip().lower()
        if not username or len(username) > 64 or not username.replace(".", "").replace("_", "").replace("-", "").isalnum():
            raise AccountError("username: 1-64 letters, digits, '.', '_' or '-'")
        if role not in STAFF_ROLES:
            raise AccountError(f"role must be one of {', '.join(STAFF_ROLES)}")
        agency = (agency or "").strip() or None
        if role == "agency_officer" and not agency:
            raise AccountError("an agency officer needs the agency whose reports they handle")
        if role != "agency_officer":
            agency = None
        if self.by_username(username) is not None:
            raise AccountError(f"username {username!r} is taken")
        account = StaffAccount(username=username, display_name=display_name.strip() or username, role=role,
                               agency=agency, password_hash=hash_password(password), active=True)
        self.session.add(account)
        self.session.flush()
        return account

    def by_username(self, username: str) -> Optional[StaffAccount]:
        return self.session.execute(
            select(StaffAccount).where(StaffAccount.username == username.strip().lower())
        ).scalar_one_or_none()

    def get(self, account_id: int) -> Optional[StaffAccount]:
        return self.session.get(StaffAccount, account_id)

    def authenticate(self, username: str, password: str) -> Optional[StaffAccount]:
        """The active account whose password this is, or None (one hash spent either way)."""
        account = self.by_username(username)
        if account is None or not account.active:
            password_matches(_dummy_hash(), password)
            return None
        if not password_matches(account.password_hash, password):
            return None
        if _HASHER.check_needs_rehash(account.password_hash):
            account.password_hash = _HASHER.hash(password)
        account.last_login_at = utcnow()
        self.session.flush()
        return account

    def credentials(self, username: str) -> Optional[tuple]:
        """``(account id, password hash)`` of an active account, for checking outside a write transaction."""
        account = self.by_username(username)
        return (account.id, account.password_hash) if account is not None and account.active else None

    def signed_in(self, account_id: int, password: str) -> StaffAccount:
        """After a successful check: remember when, and rehash if the parameters changed."""
        account = self.get(account_id)
        if _HASHER.check_needs_rehash(account.password_hash):
            account.password_hash = _HASHER.hash(password)
        account.last_login_at = utcnow()
        self.session.flush()
        return account

    def all(self) -> List[StaffAccount]:
        return list(self.session.execute(select(StaffAccount).order_by(StaffAccount.username)).scalars())

    def count_administrators(self) -> int:
        return self.session.execute(
            select(func.count()).select_from(StaffAccount).where(
                StaffAccount.role == "administrator", StaffAccount.active.is_(True))
        ).scalar_one()

    def set_active(self, account_id: int, active: bool) -> StaffAccount:
        account = self.get(account_id)
        if account is None:
            raise AccountError(f"no account {account_id}")
        if not active and account.role == "administrator" and account.active and self.count_administrators() <= 1:
            raise AccountError("the last administrator cannot be deactivated")
        account.active = active
        if not active:
            SessionRepository(self.session).close_all(account.id)
        self.session.flush()
        return account


class SessionRepository:
    """Console sessions by the digest of their id (``console.security.session_digest``)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def open(self, digest: str, account_id: int, lifetime: dt.timedelta) -> StaffSession:
        row = StaffSession(digest=digest, account_id=account_id, expires_at=utcnow() + lifetime)
        self.session.add(row)
        self.session.flush()
        return row

    def account_of(self, digest: str) -> Optional[StaffAccount]:
        """The active account signed in under this session, or None (unknown, expired, deactivated)."""
        row = self.session.execute(select(StaffSession).where(StaffSession.digest == digest)).scalar_one_or_none()
        if row is None or row.expires_at <= utcnow() or not row.account.active:
            return None
        return row.account

    def close(self, digest: str) -> None:
        self.session.execute(delete(StaffSession).where(StaffSession.digest == digest))

    def close_all(self, account_id: int) -> None:
        self.session.execute(delete(StaffSession).where(StaffSession.account_id == account_id))

    def purge_expired(self) -> None:
        self.session.execute(delete(StaffSession).where(StaffSession.expires_at <= utcnow()))
