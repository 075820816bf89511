-- Tamper evidence: every event row carries `hash`, the link of its stream's
-- hash chain: sha256(previous event's hash || canonical encoding of the row),
-- the first event of a stream linking to 32 zero bytes. Stream versions are
-- already serialised by the `streams` gate, so the chain adds no lock.
-- Design, guarantees and limits: docs/adr/0007-hash-chain.md; the same
-- encoding in Python: streams/chain.py (keep the two identical).

ALTER TABLE events ADD COLUMN hash bytea;

-- The canonical bytes of one event: fixed-width integers (big-endian), uuids
-- as 16 bytes with a presence byte when optional, text as UTF-8 and bytes
-- with a 4-byte length prefix (-1 for NULL). recorded_at as microseconds
-- since the Unix epoch.
CREATE FUNCTION obrador_event_canonical(
    p_position bigint, p_tenant text, p_stream text, p_version bigint, p_event_id uuid,
    p_type text, p_schema integer, p_payload bytea, p_causation uuid, p_correlation uuid,
    p_actor text, p_recorded_at timestamptz
) RETURNS bytea
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT int8send(p_position) || int8send(p_version) || int4send(p_schema)
        || int8send((extract(epoch FROM p_recorded_at) * 1000000)::bigint)
        || uuid_send(p_event_id)
        || coalesce('\x01'::bytea || uuid_send(p_causation), '\x00'::bytea)
        || coalesce('\x01'::bytea || uuid_send(p_correlation), '\x00'::bytea)
        || int4send(octet_length(convert_to(p_tenant, 'UTF8'))) || convert_to(p_tenant, 'UTF8')
        || int4send(octet_length(convert_to(p_stream, 'UTF8'))) || convert_to(p_stream, 'UTF8')
        || int4send(octet_length(convert_to(p_type, 'UTF8'))) || convert_to(p_type, 'UTF8')
        || coalesce(int4send(octet_length(convert_to(p_actor, 'UTF8')))
                    || convert_to(p_actor, 'UTF8'), int4send(-1))
        || int4send(octet_length(p_payload)) || p_payload;
$$;

-- One step of a chain: `obrador_chain(prev, item) OVER (... ORDER BY version)`
-- gives each row sha256(hash of the row before || item), starting from `prev`
-- (the stream's head before the append) on the first row of the window.
CREATE FUNCTION obrador_chain_step(state bytea, prev bytea, item bytea) RETURNS bytea
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
BEGIN
    RETURN sha256(coalesce(state, prev) || item);
END;
$$;

CREATE AGGREGATE obrador_chain(bytea, bytea) (SFUNC = obrador_chain_step, STYPE = bytea);

-- Writers that do not compute the link themselves (the eventsourcing recorder,
-- a hand-written INSERT) get it here from the stream's previous row; the
-- append functions below compute it set-based and never reach this trigger.
CREATE FUNCTION obrador_chain_event() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    prev bytea;
BEGIN
    IF NEW.stream_version > 1 THEN
        SELECT e.hash INTO prev FROM events e
        WHERE e.tenant_id = NEW.tenant_id AND e.stream_id = NEW.stream_id
          AND e.stream_version = NEW.stream_version - 1;
    END IF;
    NEW.hash := sha256(coalesce(prev, '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea)
        || obrador_event_canonical(NEW.position, NEW.tenant_id, NEW.stream_id, NEW.stream_version,
                                   NEW.event_id, NEW.event_type, NEW.schema_version, NEW.payload,
                                   NEW.causation_id, NEW.correlation_id, NEW.actor, NEW.recorded_at));
    RETURN NEW;
END;
$$;

-- Events stored before this migration: chained in stream order, set-based.
UPDATE events e SET hash = c.hash
FROM (
    SELECT x.position,
           obrador_chain('\x0000000000000000000000000000000000000000000000000000000000000000'::bytea,
                         obrador_event_canonical(x.position, x.tenant_id, x.stream_id,
                             x.stream_version, x.event_id, x.event_type, x.schema_version,
                             x.payload, x.causation_id, x.correlation_id, x.actor, x.recorded_at))
               OVER (PARTITION BY x.tenant_id, x.stream_id ORDER BY x.stream_version
                     ROWS UNBOUNDED PRECEDING) AS hash
    FROM events x
) c
WHERE e.position = c.position;

ALTER TABLE events ALTER COLUMN hash SET NOT NULL;

CREATE TRIGGER events_chain_fallback BEFORE INSERT ON events
FOR EACH ROW WHEN (NEW.hash IS NULL) EXECUTE FUNCTION obrador_chain_event();
