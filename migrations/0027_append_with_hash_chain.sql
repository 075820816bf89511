-- The two append functions (0010 obrador_append, 0013 obrador_append_small)
-- again, with the same steps and outcomes, now writing each event's hash-chain
-- link (0026) in the same statement that inserts it: set-based, one index
-- probe per append for the stream's previous head, no lock beyond the stream
-- gate the append already holds. docs/adr/0007-hash-chain.md.

-- obrador_event_canonical (0026) with the tenant and stream already encoded
-- (`p_where`): they are the same for every event of an append, so the append
-- functions encode them once per append. Same bytes, in the same order.
CREATE FUNCTION obrador_event_canonical_in(
    p_position bigint, p_version bigint, p_schema integer, p_recorded_at timestamptz,
    p_event_id uuid, p_causation uuid, p_correlation uuid, p_where bytea, p_type text,
    p_actor text, p_payload bytea
) RETURNS bytea
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT int8send(p_position) || int8send(p_version) || int4send(p_schema)
        || int8send((extract(epoch FROM p_recorded_at) * 1000000)::bigint)
        || uuid_send(p_event_id)
        || coalesce('\x01'::bytea || uuid_send(p_causation), '\x00'::bytea)
        || coalesce('\x01'::bytea || uuid_send(p_correlation), '\x00'::bytea)
        || p_where
        || int4send(octet_length(convert_to(p_type, 'UTF8'))) || convert_to(p_type, 'UTF8')
        || coalesce(int4send(octet_length(convert_to(p_actor, 'UTF8')))
                    || convert_to(p_actor, 'UTF8'), int4send(-1))
        || int4send(octet_length(p_payload)) || p_payload;
$$;

-- The encoded (tenant, stream) pair of obrador_event_canonical.
CREATE FUNCTION obrador_event_where(p_tenant text, p_stream text) RETURNS bytea
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT int4send(octet_length(convert_to(p_tenant, 'UTF8'))) || convert_to(p_tenant, 'UTF8')
        || int4send(octet_length(convert_to(p_stream, 'UTF8'))) || convert_to(p_stream, 'UTF8');
$$;

CREATE OR REPLACE FUNCTION obrador_append(
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
    ts timestamptz;
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

    -- 4. the events of the requests that passed, each with its chain link: the
    --    stream's head before the append (its row at version ver - n, committed
    --    before this transaction took the stream's lock) chained over the new rows
    ts := clock_timestamp();
    INSERT INTO events (position, event_id, tenant_id, stream_id, stream_version, event_type,
                        schema_version, payload, causation_id, correlation_id, actor,
                        recorded_at, hash)
    SELECT x.pos, x.id, x.tenant_id, x.stream_id, x.ver, x.typ, x.sv, x.payload, x.cause,
           x.corr, x.actor, ts,
           obrador_chain(x.prev, obrador_event_canonical_in(x.pos, x.ver, x.sv, ts, x.id,
               x.cause, x.corr, x.place, x.typ, x.actor, x.payload))
               OVER (PARTITION BY x.req ORDER BY x.off ROWS UNBOUNDED PRECEDING)
    FROM (
        SELECT ev.req, ev.off, q.pos0 + ev.off AS pos, ev.id, q.tenant_id, q.stream_id,
               q.ver - q.n + 1 + ev.off AS ver, ev.typ, ev.sv, ev.payload, ev.cause, ev.corr,
               ev.actor, q.prev, q.place
        FROM unnest(e_request, e_offset, e_ids, e_types, e_schema, e_payloads, e_causation,
                    e_correlation, e_actors) AS ev(req, off, id, typ, sv, payload, cause, corr, actor)
        JOIN (
            SELECT r.i, r.tenant_id, r.stream_id, r.pos0, r.ver, r.n,
                   obrador_event_where(r.tenant_id, r.stream_id) AS place,
                   coalesce(h.hash, '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea) AS prev
            FROM obrador_append_req r
            LEFT JOIN events h ON h.tenant_id = r.tenant_id AND h.stream_id = r.stream_id
                              AND h.stream_version = r.ver - r.n
            WHERE r.ver IS NOT NULL
            OFFSET 0  -- one probe per append, not per event
        ) AS q ON q.i = ev.req
    ) AS x;

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

-- The insert of obrador_append_small, on its own so that it alone keeps one
-- generic plan per session: with the chain's window and encoding, planning it
-- afresh for every call (PL/pgSQL's custom plans) cost more than running it,
-- while the rest of the function keeps the plans it always had.
CREATE FUNCTION obrador_insert_small(
    p_tenants text[], p_streams text[], p_counts integer[],
    e_request integer[], e_offset integer[], e_ids uuid[], e_types text[], e_schema integer[],
    e_payloads bytea[], e_causation uuid[], e_correlation uuid[], e_actors text[],
    pos0 bigint[], ok_idx integer[], ok_ver bigint[]
) RETURNS void
LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
    ts timestamptz;
BEGIN
    ts := clock_timestamp();
    INSERT INTO events (position, event_id, tenant_id, stream_id, stream_version, event_type,
                        schema_version, payload, causation_id, correlation_id, actor,
                        recorded_at, hash)
    SELECT x.pos, x.id, x.t, x.s, x.ver, x.typ, x.sv, x.payload, x.cause, x.corr, x.actor, ts,
           obrador_chain(x.prev, obrador_event_canonical_in(x.pos, x.ver, x.sv, ts, x.id,
               x.cause, x.corr, x.place, x.typ, x.actor, x.payload))
               OVER (PARTITION BY x.req ORDER BY x.off ROWS UNBOUNDED PRECEDING)
    FROM (
        SELECT ev.req, ev.off, pos0[ev.req] + ev.off AS pos, ev.id, p.t, p.s,
               p.ver - p.n + 1 + ev.off AS ver, ev.typ, ev.sv, ev.payload, ev.cause, ev.corr,
               ev.actor, p.prev, p.place
        FROM unnest(e_request, e_offset, e_ids, e_types, e_schema, e_payloads, e_causation,
                    e_correlation, e_actors) AS ev(req, off, id, typ, sv, payload, cause, corr, actor)
        JOIN (
            SELECT o.i, o.ver, p_tenants[o.i] AS t, p_streams[o.i] AS s, p_counts[o.i] AS n,
                   obrador_event_where(p_tenants[o.i], p_streams[o.i]) AS place,
                   coalesce(h.hash, '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea) AS prev
            FROM unnest(ok_idx, ok_ver) AS o(i, ver)
            LEFT JOIN events h ON h.tenant_id = p_tenants[o.i] AND h.stream_id = p_streams[o.i]
                              AND h.stream_version = o.ver - p_counts[o.i]
            OFFSET 0  -- one probe per append, not per event
        ) AS p ON p.i = ev.req
    ) AS x;

END;
$$;

CREATE OR REPLACE FUNCTION obrador_append_small(
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
    pos0 bigint[];
    claimed integer[];
    ok_idx integer[] := '{}';
    ok_ver bigint[] := '{}';
    more_idx integer[];
    more_ver bigint[];
    last_pos bigint;
BEGIN
    base := obrador_reserve_positions(coalesce(array_length(e_ids, 1), 0));
    SELECT array_agg(base + x.running - x.n ORDER BY x.i) INTO pos0
    FROM (SELECT u.i, u.n, sum(u.n) OVER (ORDER BY u.i) AS running
          FROM unnest(p_counts) WITH ORDINALITY AS u(n, i)) AS x;

    WITH r AS (
        SELECT u.i::integer AS i, u.t, u.s, u.k, u.n FROM unnest(p_tenants, p_streams, p_keys, p_counts)
            WITH ORDINALITY AS u(t, s, k, n, i)
    ), ins AS (
        INSERT INTO idempotency_keys (tenant_id, key, stream_id, first_position, last_position)
        SELECT r.t, r.k, r.s, pos0[r.i], pos0[r.i] + r.n - 1 FROM r ORDER BY r.t, r.k
        ON CONFLICT DO NOTHING
        RETURNING tenant_id, key
    )
    SELECT coalesce(array_agg(r.i), '{}') INTO claimed
    FROM ins JOIN r ON r.t = ins.tenant_id AND r.k = ins.key;

    WITH r AS (
        SELECT u.i::integer AS i, u.t, u.s, u.e, u.n FROM unnest(p_tenants, p_streams, p_expected, p_counts)
            WITH ORDINALITY AS u(t, s, e, n, i)
    ), ins AS (
        INSERT INTO streams (tenant_id, stream_id, version)
        SELECT r.t, r.s, r.n FROM r
        WHERE r.i = ANY (claimed) AND (r.e IS NULL OR r.e = 0)
        ORDER BY r.t, r.s
        ON CONFLICT DO NOTHING
        RETURNING tenant_id, stream_id, version
    )
    SELECT coalesce(array_agg(r.i), '{}'), coalesce(array_agg(ins.version), '{}')
    INTO ok_idx, ok_ver
    FROM ins JOIN r ON r.t = ins.tenant_id AND r.s = ins.stream_id;

    WITH r AS (
        SELECT u.i::integer AS i, u.t, u.s, u.e, u.n FROM unnest(p_tenants, p_streams, p_expected, p_counts)
            WITH ORDINALITY AS u(t, s, e, n, i)
        WHERE u.i = ANY (claimed) AND NOT u.i = ANY (ok_idx) AND (u.e IS NULL OR u.e > 0)
    ), locked AS (
        SELECT s.tenant_id, s.stream_id FROM streams s JOIN r
            ON s.tenant_id = r.t AND s.stream_id = r.s
        ORDER BY s.tenant_id, s.stream_id
        FOR UPDATE OF s
    ), upd AS (
        UPDATE streams AS s SET version = s.version + r.n
        FROM r, (SELECT count(*) FROM locked) AS l
        WHERE s.tenant_id = r.t AND s.stream_id = r.s AND (r.e IS NULL OR s.version = r.e)
        RETURNING r.i, s.version
    )
    SELECT coalesce(array_agg(upd.i), '{}'), coalesce(array_agg(upd.version), '{}')
    INTO more_idx, more_ver FROM upd;
    ok_idx := ok_idx || more_idx;
    ok_ver := ok_ver || more_ver;

    DELETE FROM idempotency_keys k
    USING unnest(p_tenants, p_keys) WITH ORDINALITY AS u(t, key, i)
    WHERE u.i = ANY (claimed) AND NOT u.i = ANY (ok_idx)
      AND k.tenant_id = u.t AND k.key = u.key;

    -- the events, each with its chain link (see obrador_append)
    PERFORM obrador_insert_small(p_tenants, p_streams, p_counts, e_request, e_offset, e_ids,
        e_types, e_schema, e_payloads, e_causation, e_correlation, e_actors, pos0, ok_idx, ok_ver);

    SELECT max(pos0[p.i] + p_counts[p.i] - 1) INTO last_pos FROM unnest(ok_idx) AS p(i);
    IF last_pos IS NOT NULL THEN
        PERFORM pg_notify('obrador_events', last_pos::text);
    END IF;

    RETURN QUERY
    SELECT u.i::integer,
           CASE WHEN p.ver IS NOT NULL THEN 'ok' WHEN u.i = ANY (claimed) THEN 'conflict'
                ELSE 'duplicate' END,
           p.ver - u.n + 1, p.ver, pos0[u.i], pos0[u.i] + u.n - 1
    FROM unnest(p_counts) WITH ORDINALITY AS u(n, i)
    LEFT JOIN unnest(ok_idx, ok_ver) AS p(i, ver) ON p.i = u.i
    ORDER BY u.i;
END;
$$;
