-- Group-committed batches are small (a few to a few dozen appends). For them
-- the temp-table bookkeeping of obrador_append (create-if-missing, rows,
-- updates, truncation at commit) cost more than the appends themselves. This
-- variant keeps the same steps and outcomes with arrays and CTEs only; the
-- client calls it below 200 requests and obrador_append above (where `= ANY`
-- over arrays would grow quadratically).

CREATE FUNCTION obrador_append_small(
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

    INSERT INTO events (position, event_id, tenant_id, stream_id, stream_version, event_type,
                        schema_version, payload, causation_id, correlation_id, actor)
    SELECT pos0[ev.req] + ev.off, ev.id, p_tenants[ev.req], p_streams[ev.req],
           p.ver - p_counts[ev.req] + 1 + ev.off, ev.typ, ev.sv, ev.payload, ev.cause,
           ev.corr, ev.actor
    FROM unnest(e_request, e_offset, e_ids, e_types, e_schema, e_payloads, e_causation,
                e_correlation, e_actors) AS ev(req, off, id, typ, sv, payload, cause, corr, actor)
    JOIN unnest(ok_idx, ok_ver) AS p(i, ver) ON p.i = ev.req;

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
