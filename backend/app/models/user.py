"""Members: the row as the app sees it, and the input models of auth and user admin."""

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field

from app.utils.validation import Input

ROLES = ("user", "staff", "admin")
Role = Literal["user", "staff", "admin"]
# bcrypt-era limits do not apply to argon2, but an unbounded password is free CPU for an
# attacker: 1024 characters is far beyond any passphrase.
PASSWORD_MIN, PASSWORD_MAX = 10, 1024
USERNAME_PATTERN = r"^[A-Za-z0-9_.-]{3,32}$"

EMAIL_MAX = 254


def _any_case(word: str) -> str:
    return "".join(f"[{c.upper()}{c}]" for c in word)


# The addresses a member may register with, as one pattern: the API checks exactly this
# and the OpenAPI description publishes it, so what the description allows is what the
# API accepts. (email-validator refused more than `format: email` says, e.g. reserved
# domains, and no description could state its rules.) ASCII only, as the welcome mail
# goes out over plain SMTP:
#   - the local part is an RFC 5322 dot-atom of at most 64 characters;
#   - the domain has two or more DNS labels, the last (the TLD) starting with a letter;
#   - the TLD is not a special-use one (RFC 6761, 6762, 7686, 9476; ICANN's "internal"):
#     no mail is ever delivered there, and "*.localhost" would be the server itself.
SPECIAL_USE_TLDS = ("arpa", "internal", "invalid", "local", "localhost", "onion", "test")
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
EMAIL_PATTERN = (
    rf"^(?=[^@]{{1,64}}@){_ATOM}(?:\.{_ATOM})*"
    rf"@(?:{_LABEL}\.)+"
    rf"(?!(?:{'|'.join(_any_case(tld) for tld in SPECIAL_USE_TLDS)})$)"
    r"[A-Za-z](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])$"
)
_EMAIL_RE = re.compile(EMAIL_PATTERN)


def _email(value: str) -> str:
    if not _EMAIL_RE.fullmatch(value):
        raise ValueError("must be an e-mail address such as name@example.com")
    return value.lower()


# The schema keeps `format: email` for readers; the pattern is what is checked.
Email = Annotated[str, Field(min_length=6, max_length=EMAIL_MAX,
                             json_schema_extra={"format": "email", "pattern": EMAIL_PATTERN}),
                  AfterValidator(_email)]

# Every column but the password hash. tokens_valid_after is the account's token cut-off
# (app/services/tokens.py): loaded with the member, never in the API's form of it.
PUBLIC_COLUMNS = ("id, email, username, role, is_active, tokens_valid_after, "
                  "email_verified_at, last_login_at, created_at, updated_at")


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
    tokens_valid_after: datetime | None = None
    email_verified_at: datetime | None = None
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
            "email_verified_at": _iso(self.email_verified_at),
            "last_login_at": _iso(self.last_login_at),
            "created_at": _iso(self.created_at),
            "updated_at": _iso(self.updated_at),
        }


def _iso(value: datetime | None) -> str | None:
    # Stored as UTC without a zone; say so on the way out.
    return value.isoformat() + "Z" if value else None


class RegisterInput(Input):
    email: Email  # stored in lower case
    username: str = Field(pattern=USERNAME_PATTERN)
    password: str = Field(min_length=PASSWORD_MIN, max_length=PASSWORD_MAX)


# The tokens of the mails' links: secrets.token_urlsafe(32), 43 characters of base64url.
# A little slack either side; anything else is no token of ours (422).
ACCOUNT_TOKEN_PATTERN = r"^[A-Za-z0-9_-]{32,64}$"  # noqa: S105 (a pattern, no secret)
AccountToken = Annotated[str, Field(pattern=ACCOUNT_TOKEN_PATTERN)]
NewPassword = Annotated[str, Field(min_length=PASSWORD_MIN, max_length=PASSWORD_MAX)]


class VerifyInput(Input):
    token: AccountToken


class ResetInput(Input):
    token: AccountToken
    password: NewPassword


class EmailInput(Input):
    """The address a mail is asked for (resend, reset request): any text, answered alike."""

    email: str = Field(min_length=1, max_length=EMAIL_MAX)


class PasswordChangeInput(Input):
    current_password: str = Field(min_length=1, max_length=PASSWORD_MAX)
    password: NewPassword


class LoginInput(Input):
    email: str = Field(min_length=1, max_length=EMAIL_MAX)
    password: str = Field(min_length=1, max_length=PASSWORD_MAX)


class UserUpdateInput(Input):
    """An admin's change to a member: role and/or active flag."""

    role: Role | None = None
    is_active: bool | None = None
