-- The append function again, with the same steps and outcomes as 0002, but
-- linear in the batch size: each request's state lives in columns of the temp
-- table (claimed, new version) instead of being searched in arrays with
-- `= ANY(...)`, which was quadratic and dominated large import chunks. Event
-- offsets within a request come from the caller (no window sort), and
-- existing streams are locked in (tenant, stream) order so two batches
-- never deadlock on each other.

CREATE FUNCTION obrador_append(
    p_tenants text[], p_streams text[], p_expected bigint[], p_counts integer[], p_keys text[],
    e_request integer[], e_offset integer[], e_ids uuid[], e_types text[], e_schema integer[],
    e_payloads bytea[], e_causation uuid[], e_correlation uuid[], e_actors text[]
) RETURNS TABLE (
    idx integer, outcome text, first_version bigint, last_version bigint,
    first_position bigint, last_position bigint
)
LANGUAGE plpgsql AS $$
DECLARE
    base bigint;
    last_pos bigint;
BEGIN
    -- 1. positions and transaction id, first write of the transaction
    base := obrador_reserve_positions(coalesce(array_length(e_ids, 1), 0));

    CREATE TEMP TABLE IF NOT EXISTS obrador_append_req (
        i integer PRIMARY KEY, tenant_id text NOT NULL, stream_id text NOT NULL,
        expected bigint, n integer NOT NULL, key text NOT NULL, pos0 bigint NOT NULL,
        claimed boolean NOT NULL DEFAULT false, ver bigint
    ) ON COMMIT DELETE ROWS;
    DELETE FROM obrador_append_req;
    INSERT INTO obrador_append_req (i, tenant_id, stream_id, expected, n, key, pos0)
    SELECT r.i, r.t, r.s, r.e, r.n, r.k, base + sum(r.n) OVER (ORDER BY r.i) - r.n
    FROM unnest(p_tenants, p_streams, p_expected, p_counts, p_keys)
         WITH ORDINALITY AS r(t, s, e, n, k, i);
    ANALYZE obrador_append_req;

    -- 2. idempotency keys: a key already stored makes the request a duplicate
    WITH ins AS (
        INSERT INTO idempotency_keys (tenant_id, key, stream_id, first_position, last_position)
        SELECT q.tenant_id, q.key, q.stream_id, q.pos0, q.pos0 + q.n - 1
        FROM obrador_append_req q ORDER BY q.tenant_id, q.key
        ON CONFLICT DO NOTHING
        RETURNING tenant_id, key
    )
    UPDATE obrador_append_req q SET claimed = true
    FROM ins WHERE q.tenant_id = ins.tenant_id AND q.key = ins.key;

    -- 3a. the stream gate, new streams
    WITH ins AS (
        INSERT INTO streams (tenant_id, stream_id, version)
        SELECT q.tenant_id, q.stream_id, q.n FROM obrador_append_req q
        WHERE q.claimed AND (q.expected IS NULL OR q.expected = 0)
        ORDER BY q.tenant_id, q.stream_id
        ON CONFLICT DO NOTHING
        RETURNING tenant_id, stream_id, version
    )
    UPDATE obrador_append_req q SET ver = ins.version
    FROM ins WHERE q.tenant_id = ins.tenant_id AND q.stream_id = ins.stream_id;

    -- 3b. the stream gate, existing streams at the expected version (locked in order)
    PERFORM 1 FROM streams s JOIN obrador_append_req q
        ON s.tenant_id = q.tenant_id AND s.stream_id = q.stream_id
    WHERE q.claimed AND q.ver IS NULL AND (q.expected IS NULL OR q.expected > 0)
    ORDER BY s.tenant_id, s.stream_id
    FOR UPDATE OF s;
    WITH upd AS (
        UPDATE streams AS s SET version = s.version + q.n
        FROM obrador_append_req q
        WHERE q.claimed AND q.ver IS NULL AND (q.expected IS NULL OR q.expected > 0)
          AND s.tenant_id = q.tenant_id AND s.stream_id = q.stream_id
          AND (q.expected IS NULL OR s.version = q.expected)
        RETURNING q.i, s.version
    )
    UPDATE obrador_append_req q SET ver = upd.version FROM upd WHERE q.i = upd.i;

    -- conflicts give their key back
    DELETE FROM idempotency_keys k USING obrador_append_req q
    WHERE q.claimed AND q.ver IS NULL AND k.tenant_id = q.tenant_id AND k.key = q.key;

    -- 4. the events of the requests that passed
    INSERT INTO events (position, event_id, tenant_id, stream_id, stream_version, event_type,
                        schema_version, payload, causation_id, correlation_id, actor)
    SELECT q.pos0 + ev.off, ev.id, q.tenant_id, q.stream_id, q.ver - q.n + 1 + ev.off,
           ev.typ, ev.sv, ev.payload, ev.cause, ev.corr, ev.actor
    FROM unnest(e_request, e_offset, e_ids, e_types, e_schema, e_payloads, e_causation,
                e_correlation, e_actors) AS ev(req, off, id, typ, sv, payload, cause, corr, actor)
    JOIN obrador_append_req q ON q.i = ev.req
    WHERE q.ver IS NOT NULL;

    SELECT max(q.pos0 + q.n - 1) INTO last_pos FROM obrador_append_req q WHERE q.ver IS NOT NULL;
    IF last_pos IS NOT NULL THEN
        PERFORM pg_notify('obrador_events', last_pos::text);
    END IF;

    -- 5. one outcome row per request
    RETURN QUERY
    SELECT q.i,
           CASE WHEN q.ver IS NOT NULL THEN 'ok' WHEN q.claimed THEN 'conflict'
                ELSE 'duplicate' END,
           q.ver - q.n + 1, q.ver, q.pos0, q.pos0 + q.n - 1
    FROM obrador_append_req q
    ORDER BY q.i;
END;
$$;
