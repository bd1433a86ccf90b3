"""Members: the row as the app sees it, and the input models of auth and user admin."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from pydantic import EmailStr, Field, field_validator

from app.utils.validation import Input

ROLES = ("user", "staff", "admin")
Role = Literal["user", "staff", "admin"]
# bcrypt-era limits do not apply to argon2, but an unbounded password is free CPU for an
# attacker: 1024 characters is far beyond any passphrase.
PASSWORD_MIN, PASSWORD_MAX = 10, 1024
USERNAME_PATTERN = r"^[A-Za-z0-9_.-]{3,32}$"

PUBLIC_COLUMNS = "id, email, username, role, is_active, last_login_at, created_at, updated_at"


@dataclass
class User:
    """A member loaded for the current request (Flask-Login's current_user).

    Implements Flask-Login's user interface itself: UserMixin's read-only `is_active`
    property would clash with the column of the same name.
    """

    id: int
    email: str
    username: str
    role: str
    is_active: bool
    last_login_at: datetime | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None

    is_authenticated = True
    is_anonymous = False

    def get_id(self) -> str:
        return str(self.id)

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> "User":
        return cls(**{**row, "is_active": bool(row["is_active"])})

    def has_role(self, role: str) -> bool:
        """True when this user's role is `role` or above it (user < staff < admin)."""
        return ROLES.index(self.role) >= ROLES.index(role)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "email": self.email,
            "username": self.username,
            "role": self.role,
            "is_active": self.is_active,
            "last_login_at": _iso(self.last_login_at),
            "created_at": _iso(self.created_at),
            "updated_at": _iso(self.updated_at),
        }


def _iso(value: datetime | None) -> str | None:
    # Stored as UTC without a zone; say so on the way out.
    return value.isoformat() + "Z" if value else None


class RegisterInput(Input):
    email: EmailStr = Field(max_length=254)
    username: str = Field(pattern=USERNAME_PATTERN)
    password: str = Field(min_length=PASSWORD_MIN, max_length=PASSWORD_MAX)

    @field_validator("email")
    @classmethod
    def normalise_email(cls, value: str) -> str:
        return value.lower()


class LoginInput(Input):
    email: str = Field(min_length=1, max_length=254)
    password: str = Field(min_length=1, max_length=PASSWORD_MAX)


class UserUpdateInput(Input):
    """An admin's change to a member: role and/or active flag."""

    role: Role | None = None
    is_active: bool | None = None
