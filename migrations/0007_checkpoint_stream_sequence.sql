-- Projectors remember the JetStream sequence of their checkpoint, so a
-- restarted (or repositioned) consumer resumes exactly after what was applied.
ALTER TABLE projection_checkpoints ADD COLUMN stream_seq bigint NOT NULL DEFAULT 0;
