"""Which new passwords the club refuses: common, breached or guessable ones, and the
member's own address or name.

zxcvbn (Dropbox's estimator, pinned in requirements.in) works offline: its frequency lists
hold the most common passwords of public breaches, English words, names and keyboard
patterns, and it estimates how many guesses a password takes. Below score 3 (about 10^8
guesses) a password falls to an offline attack on a leaked hash within days, whatever
argon2 costs; that is what "common or breached" means here. No network at request time.
"""

from zxcvbn import zxcvbn

MIN_SCORE = 3
# zxcvbn refuses longer input (its matching grows quadratically): a password whose first
# 72 characters are strong is strong.
CHECKED_LENGTH = 72
# Words an attacker tries first against this site's members.
SITE_WORDS = ("dreamerscave", "dreamers", "cave", "thedreamerscave", "club")

TOO_COMMON = "is too common or easy to guess: use a longer passphrase of unrelated words"
IS_IDENTITY = "must not be your e-mail address or username"


def password_problems(password: str, email: str, username: str) -> list[str]:
    """The reasons to refuse PASSWORD for the member of EMAIL and USERNAME (none: fine)."""
    folded = password.strip().casefold()
    local_part = email.partition("@")[0]
    if folded in {email.casefold(), username.casefold(), local_part.casefold()}:
        return [IS_IDENTITY]
    user_inputs = [email, local_part, username, *SITE_WORDS]
    if zxcvbn(password[:CHECKED_LENGTH], user_inputs=user_inputs)["score"] < MIN_SCORE:
        return [TOO_COMMON]
    return []
