-- Issue 10: sales of unknown items kept out of the lots, and the waste read model.

-- inventory: a ticket line for an item the catalogue did not know (UnknownItemSaleRecorded).
CREATE TABLE rm_inventory_unknown_sales (
    tenant_id      text        NOT NULL,
    store_id       text        NOT NULL,
    item_id        text        NOT NULL,
    units          numeric     NOT NULL,  -- sold while unknown, never taken from the lots
    tickets        bigint      NOT NULL,
    last_position  bigint      NOT NULL,
    last_sold_at   timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, store_id, item_id)
);

-- waste: units and euros (at lot cost) that left the books without being sold,
-- per store-local day, item and reason.
CREATE TABLE rm_waste_daily (
    tenant_id       text    NOT NULL,
    store_id        text    NOT NULL,
    day             date    NOT NULL,
    item_id         text    NOT NULL,
    reason          text    NOT NULL,  -- expired | damaged | quality | unsold_end_of_day | donated | count_discrepancy
    units           numeric NOT NULL,
    value           numeric NOT NULL,  -- sum of units x lot unit cost
    unvalued_units  numeric NOT NULL,  -- units from older events that did not carry their cost
    PRIMARY KEY (tenant_id, store_id, day, item_id, reason)
);
CREATE INDEX rm_waste_daily_day ON rm_waste_daily (tenant_id, day);

-- waste: one row per item and closed day (confirmed by a person, or automatic from the books).
CREATE TABLE rm_waste_closes (
    tenant_id         text        NOT NULL,
    store_id          text        NOT NULL,
    day               date        NOT NULL,
    item_id           text        NOT NULL,
    automatic         boolean     NOT NULL,
    book_quantity     numeric     NOT NULL,
    counted_quantity  numeric     NOT NULL,
    discrepancy       numeric     NOT NULL,  -- counted - book
    waste             numeric     NOT NULL,
    donation          numeric     NOT NULL,
    markdown          numeric     NOT NULL,
    carried           numeric     NOT NULL,
    closed_at         timestamptz NOT NULL,
    position          bigint      NOT NULL,
    PRIMARY KEY (tenant_id, store_id, day, item_id)
);
