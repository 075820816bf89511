-- Accounts over HTTP (docs/auth.md, "Accounts"; ADR 0013).
--
-- claims_generation: bumped when an owner changes the user's role or stores.
-- Access tokens carry the generation they were made at (claim "gen"); the
-- revoked-token handler refuses a token of an older generation, so the change
-- reaches the person at once (their next refresh carries the new role).
-- A removed user's row is deleted: their tokens find no credential and stop.
ALTER TABLE auth_credentials ADD COLUMN claims_generation integer NOT NULL DEFAULT 0;

-- API keys of store-scoped roles (store manager, POS device) name their stores;
-- tenant-wide roles keep an empty list.
ALTER TABLE api_keys ADD COLUMN store_ids text[] NOT NULL DEFAULT '{}';
