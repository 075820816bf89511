-- obrador_append (0043) again, same steps, rows, hashes and outcomes, with no
-- plan that can grow faster than the batch whatever the statistics say
-- (issue 13: bulk append fell from ~2 s to ~124 s per 50,000-event chunk).
--
-- The cliff: step 4 joined the unnested events to the request rows
-- (`... JOIN (SELECT ... FROM obrador_append_req r ... WHERE r.ver IS NOT NULL)
-- ON q.i = ev.req`). `obrador_append_req` is ANALYZEd right after it is filled,
-- while `ver` is still NULL everywhere, so the planner believes `ver IS NOT
-- NULL` keeps 1 row; and in a generic plan `unnest($n)` is believed to give 10
-- rows. The plan was a nested loop rescanning every event of the batch once per
-- request: 12,500 x 50,000 rows, from a tuplestore spilled to disk past
-- work_mem. PL/pgSQL plans the first five calls of a session with the arrays'
-- real sizes (custom plans, a hash join) and from the sixth on keeps the
-- generic plan when it looks cheaper -- with two pooled connections, from the
-- 11th chunk on, whatever the size of `events`.
--
-- Now no statement joins the events to anything a statistic can misjudge:
-- * the per-request values the events need are set on the request rows first:
--   the encoded tenant/stream by the stream gate's updates, the chain's
--   previous hash by one backward probe of the (tenant_id, stream_id,
--   stream_version) index per append that extends a stream (0043), none for a
--   new stream (it starts from 32 zero bytes);
-- * each unnested event then finds its request by `CROSS JOIN LATERAL (...
--   WHERE r.i = ev.req LIMIT 1)`: a LATERAL subquery with LIMIT is never pulled
--   up into a join, so the plan is the events once, with one primary-key probe
--   of the request table each; the events are never rescanned. (Reading
--   per-request arrays by subscript instead was tried: PostgreSQL walks a
--   text/bytea array from its start on each subscript, quadratic again.)
-- * the request table has indexes on the columns the other steps join on,
--   (tenant_id, key) and (tenant_id, stream_id): with the stale estimates a
--   nested loop over it is an index probe per row, never a scan per row. It is
--   a new temporary table (`obrador_append_q`, two more columns), created with
--   its indexes once per session (no "already exists" notice per call), with
--   fillfactor 30 so that the steps' updates of its unindexed columns stay on
--   the page (HOT: no index entries; about 15% less server CPU per chunk).
-- * work_mem 64 MB for the call: the sort and window over a 50,000-event
--   chunk no longer spill to temporary files.
-- tests/streams/test_append_plans.py plans every statement the way the cliff
-- did and fails on any repeated scan.

CREATE OR REPLACE FUNCTION obrador_append(
    p_tenants text[], p_streams text[], p_expected bigint[], p_counts integer[], p_keys text[],
    e_request integer[], e_offset integer[], e_ids uuid[], e_types text[], e_schema integer[],
    e_payloads bytea[], e_causation uuid[], e_correlation uuid[], e_actors text[]
) RETURNS TABLE (
    idx integer, outcome text, first_version bigint, last_version bigint,
    first_position bigint, last_position bigint
)
LANGUAGE plpgsql
SET work_mem = '64MB'  -- the events' sort and window stay in memory (50,000-event chunks)
AS $$
DECLARE
    base bigint;
    last_pos bigint;
    ts timestamptz;
BEGIN
    -- 1. positions and transaction id, first write of the transaction
    base := obrador_reserve_positions(coalesce(array_length(e_ids, 1), 0));

    IF to_regclass('pg_temp.obrador_append_q') IS NULL THEN
        CREATE TEMP TABLE obrador_append_q (
            i integer PRIMARY KEY, tenant_id text NOT NULL, stream_id text NOT NULL,
            expected bigint, n integer NOT NULL, key text NOT NULL, pos0 bigint NOT NULL,
            claimed boolean NOT NULL DEFAULT false, ver bigint, prev bytea, place bytea
        ) WITH (fillfactor = 30) ON COMMIT DELETE ROWS;  -- room for HOT updates
        CREATE INDEX obrador_append_q_key ON obrador_append_q (tenant_id, key);
        CREATE INDEX obrador_append_q_stream ON obrador_append_q (tenant_id, stream_id);
    END IF;
    DELETE FROM obrador_append_q;
    INSERT INTO obrador_append_q (i, tenant_id, stream_id, expected, n, key, pos0)
    SELECT r.i, r.t, r.s, r.e, r.n, r.k, base + sum(r.n) OVER (ORDER BY r.i) - r.n
    FROM unnest(p_tenants, p_streams, p_expected, p_counts, p_keys)
         WITH ORDINALITY AS r(t, s, e, n, k, i);
    ANALYZE obrador_append_q;

    -- 2. idempotency keys: a key already stored makes the request a duplicate
    WITH ins AS (
        INSERT INTO idempotency_keys (tenant_id, key, stream_id, first_position, last_position)
        SELECT q.tenant_id, q.key, q.stream_id, q.pos0, q.pos0 + q.n - 1
        FROM obrador_append_q q ORDER BY q.tenant_id, q.key
        ON CONFLICT DO NOTHING
        RETURNING tenant_id, key
    )
    UPDATE obrador_append_q q SET claimed = true
    FROM ins WHERE q.tenant_id = ins.tenant_id AND q.key = ins.key;

    -- 3a. the stream gate, new streams
    WITH ins AS (
        INSERT INTO streams (tenant_id, stream_id, version)
        SELECT q.tenant_id, q.stream_id, q.n FROM obrador_append_q q
        WHERE q.claimed AND (q.expected IS NULL OR q.expected = 0)
        ORDER BY q.tenant_id, q.stream_id
        ON CONFLICT DO NOTHING
        RETURNING tenant_id, stream_id, version
    )
    UPDATE obrador_append_q q
    SET ver = ins.version, place = obrador_event_where(q.tenant_id, q.stream_id)
    FROM ins WHERE q.tenant_id = ins.tenant_id AND q.stream_id = ins.stream_id;

    -- 3b. the stream gate, existing streams at the expected version (locked in order)
    PERFORM 1 FROM streams s JOIN obrador_append_q q
        ON s.tenant_id = q.tenant_id AND s.stream_id = q.stream_id
    WHERE q.claimed AND q.ver IS NULL AND (q.expected IS NULL OR q.expected > 0)
    ORDER BY s.tenant_id, s.stream_id
    FOR UPDATE OF s;
    WITH upd AS (
        UPDATE streams AS s SET version = s.version + q.n
        FROM obrador_append_q q
        WHERE q.claimed AND q.ver IS NULL AND (q.expected IS NULL OR q.expected > 0)
          AND s.tenant_id = q.tenant_id AND s.stream_id = q.stream_id
          AND (q.expected IS NULL OR s.version = q.expected)
        RETURNING q.i, s.version
    )
    UPDATE obrador_append_q q
    SET ver = upd.version, place = obrador_event_where(q.tenant_id, q.stream_id)
    FROM upd WHERE q.i = upd.i;

    -- conflicts give their key back
    DELETE FROM idempotency_keys k USING obrador_append_q q
    WHERE q.claimed AND q.ver IS NULL AND k.tenant_id = q.tenant_id AND k.key = q.key;

    -- 4. per request that extends a stream: the chain link its events start
    --    from, the stream's head before the append (its row at version ver - n,
    --    committed before this transaction took the stream's lock), one backward
    --    probe of the stream index (0043); a new stream starts from 32 zero bytes
    UPDATE obrador_append_q q
    SET prev = (SELECT e.hash FROM events e
                WHERE e.tenant_id = q.tenant_id AND e.stream_id = q.stream_id
                  AND e.stream_version BETWEEN q.ver - q.n AND q.ver - q.n
                ORDER BY e.stream_version DESC LIMIT 1)
    WHERE q.ver > q.n;

    --    the events, chained in order; each finds its request by one probe of
    --    the request table's primary key (a LATERAL ... LIMIT 1 cannot be
    --    turned into a join that rescans the events)
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
               ev.actor,
               coalesce(q.prev, '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea) AS prev,
               q.place
        FROM unnest(e_request, e_offset, e_ids, e_types, e_schema, e_payloads, e_causation,
                    e_correlation, e_actors) AS ev(req, off, id, typ, sv, payload, cause, corr, actor)
        CROSS JOIN LATERAL (
            SELECT r.pos0, r.tenant_id, r.stream_id, r.ver, r.n, r.prev, r.place
            FROM obrador_append_q r WHERE r.i = ev.req AND r.ver IS NOT NULL
            LIMIT 1
        ) AS q
    ) AS x;

    SELECT max(q.pos0 + q.n - 1) INTO last_pos FROM obrador_append_q q WHERE q.ver IS NOT NULL;
    IF last_pos IS NOT NULL THEN
        PERFORM pg_notify('obrador_events', last_pos::text);
    END IF;

    -- 5. one outcome row per request
    RETURN QUERY
    SELECT q.i,
           CASE WHEN q.ver IS NOT NULL THEN 'ok' WHEN q.claimed THEN 'conflict'
                ELSE 'duplicate' END,
           q.ver - q.n + 1, q.ver, q.pos0, q.pos0 + q.n - 1
    FROM obrador_append_q q
    ORDER BY q.i;
END;
$$;
