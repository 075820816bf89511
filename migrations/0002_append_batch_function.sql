-- The whole append transaction as one server-side call: one round trip per
-- group-committed batch instead of one per step. Same steps, same order as
-- described in streams/append_batch.py (reserve, claim keys, stream gate,
-- events, notify). Outcome per request: 'ok', 'duplicate' or 'conflict'.

CREATE FUNCTION obrador_append_batch(
    p_tenants text[], p_streams text[], p_expected bigint[], p_counts integer[], p_keys text[],
    e_request integer[], e_ids uuid[], e_types text[], e_schema integer[], e_payloads bytea[],
    e_causation uuid[], e_correlation uuid[], e_actors text[]
) RETURNS TABLE (
    idx integer, outcome text, first_version bigint, last_version bigint,
    first_position bigint, last_position bigint
)
LANGUAGE plpgsql AS $$
DECLARE
    base bigint;
    claimed integer[];
    passed_idx integer[] := '{}';
    passed_ver bigint[] := '{}';
    more_idx integer[];
    more_ver bigint[];
    last_pos bigint;
BEGIN
    -- 1. positions and transaction id, first write of the transaction
    base := obrador_reserve_positions(coalesce(array_length(e_ids, 1), 0));

    CREATE TEMP TABLE IF NOT EXISTS obrador_req (
        i integer PRIMARY KEY, tenant_id text, stream_id text, expected bigint,
        n integer, key text, pos0 bigint
    ) ON COMMIT DELETE ROWS;
    DELETE FROM obrador_req;
    INSERT INTO obrador_req
    SELECT r.i, r.t, r.s, r.e, r.n, r.k, base + sum(r.n) OVER (ORDER BY r.i) - r.n
    FROM unnest(p_tenants, p_streams, p_expected, p_counts, p_keys)
         WITH ORDINALITY AS r(t, s, e, n, k, i);

    -- 2. idempotency keys: a key already stored makes the request a duplicate
    WITH ins AS (
        INSERT INTO idempotency_keys (tenant_id, key, stream_id, first_position, last_position)
        SELECT q.tenant_id, q.key, q.stream_id, q.pos0, q.pos0 + q.n - 1
        FROM obrador_req q ORDER BY q.i
        ON CONFLICT DO NOTHING
        RETURNING tenant_id, key
    )
    SELECT coalesce(array_agg(q.i), '{}') INTO claimed
    FROM ins JOIN obrador_req q ON q.tenant_id = ins.tenant_id AND q.key = ins.key;

    -- 3a. the stream gate, new streams
    WITH ins AS (
        INSERT INTO streams (tenant_id, stream_id, version)
        SELECT q.tenant_id, q.stream_id, q.n FROM obrador_req q
        WHERE q.i = ANY (claimed) AND (q.expected IS NULL OR q.expected = 0)
        ORDER BY q.tenant_id, q.stream_id
        ON CONFLICT DO NOTHING
        RETURNING tenant_id, stream_id, version
    )
    SELECT coalesce(array_agg(q.i), '{}'), coalesce(array_agg(ins.version), '{}')
    INTO passed_idx, passed_ver
    FROM ins JOIN obrador_req q ON q.tenant_id = ins.tenant_id AND q.stream_id = ins.stream_id;

    -- 3b. the stream gate, existing streams at the expected version
    WITH upd AS (
        UPDATE streams AS s SET version = s.version + q.n
        FROM obrador_req q
        WHERE q.i = ANY (claimed) AND NOT q.i = ANY (passed_idx)
          AND (q.expected IS NULL OR q.expected > 0)
          AND s.tenant_id = q.tenant_id AND s.stream_id = q.stream_id
          AND (q.expected IS NULL OR s.version = q.expected)
        RETURNING q.i, s.version
    )
    SELECT coalesce(array_agg(upd.i), '{}'), coalesce(array_agg(upd.version), '{}')
    INTO more_idx, more_ver FROM upd;
    passed_idx := passed_idx || more_idx;
    passed_ver := passed_ver || more_ver;

    -- conflicts give their key back
    DELETE FROM idempotency_keys k USING obrador_req q
    WHERE q.i = ANY (claimed) AND NOT q.i = ANY (passed_idx)
      AND k.tenant_id = q.tenant_id AND k.key = q.key;

    -- 4. the events of the requests that passed
    INSERT INTO events (position, event_id, tenant_id, stream_id, stream_version, event_type,
                        schema_version, payload, causation_id, correlation_id, actor)
    SELECT q.pos0 + ev.off, ev.id, q.tenant_id, q.stream_id, p.ver - q.n + 1 + ev.off,
           ev.typ, ev.sv, ev.payload, ev.cause, ev.corr, ev.actor
    FROM (
        SELECT u.*, (row_number() OVER (PARTITION BY u.req ORDER BY u.j) - 1) AS off
        FROM unnest(e_request, e_ids, e_types, e_schema, e_payloads, e_causation,
                    e_correlation, e_actors)
             WITH ORDINALITY AS u(req, id, typ, sv, payload, cause, corr, actor, j)
    ) ev
    JOIN unnest(passed_idx, passed_ver) AS p(i, ver) ON p.i = ev.req
    JOIN obrador_req q ON q.i = ev.req
    ORDER BY 1;

    SELECT max(q.pos0 + q.n - 1) INTO last_pos FROM obrador_req q WHERE q.i = ANY (passed_idx);
    IF last_pos IS NOT NULL THEN
        PERFORM pg_notify('obrador_events', last_pos::text);
    END IF;

    -- 5. one outcome row per request
    RETURN QUERY
    SELECT q.i::integer,
           CASE WHEN p.ver IS NOT NULL THEN 'ok'
                WHEN q.i = ANY (claimed) THEN 'conflict'
                ELSE 'duplicate' END,
           p.ver - q.n + 1, p.ver, q.pos0, q.pos0 + q.n - 1
    FROM obrador_req q LEFT JOIN unnest(passed_idx, passed_ver) AS p(i, ver) ON p.i = q.i
    ORDER BY q.i;
END;
$$;
