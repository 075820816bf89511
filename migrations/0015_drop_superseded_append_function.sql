-- obrador_append_batch (0002) was replaced by obrador_append (0010) and
-- obrador_append_small (0013); nothing calls it any more.
DROP FUNCTION obrador_append_batch(
    text[], text[], bigint[], integer[], text[], integer[], uuid[], text[], integer[], bytea[],
    uuid[], uuid[], text[]
);
