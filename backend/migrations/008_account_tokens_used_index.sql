-- The daily purge of spent link tokens finds them by used_at; without an index each run
-- would scan the whole table, which only grows. (Expired ones it finds by
-- ix_account_tokens_expires, from migration 006.)

ALTER TABLE account_tokens
    ADD KEY ix_account_tokens_used (used_at);
