-- Crypto-shredding (docs/gdpr.md, ADR 0014): one AES-256-GCM key per data subject,
-- kept apart from the events. Erasure sets key to NULL and keeps the row as a
-- tombstone: the subject's personal fields, sealed in immutable events, stay
-- unreadable for good and no new personal data is accepted for that subject.
CREATE TABLE subject_keys (
    tenant_id   text        NOT NULL,
    subject_id  text        NOT NULL,  -- user:<id> | supplier:<id> (pseudonymous)
    key         bytea,                 -- 32 random bytes; NULL once erased
    created_at  timestamptz NOT NULL DEFAULT now(),
    erased_at   timestamptz,
    PRIMARY KEY (tenant_id, subject_id),
    CONSTRAINT subject_keys_erased CHECK ((key IS NULL) = (erased_at IS NOT NULL)),
    CONSTRAINT subject_keys_length CHECK (key IS NULL OR octet_length(key) = 32)
);

-- The supplier's contact person, shown by the purchase-orders read model
-- ("[erased]" once the supplier's contact has been erased).
ALTER TABLE rm_purchase_suppliers
    ADD COLUMN contact_name  text NOT NULL DEFAULT '',
    ADD COLUMN contact_email text NOT NULL DEFAULT '',
    ADD COLUMN contact_phone text NOT NULL DEFAULT '';
