-- The chain's central workshops (issue 15 §4, ADR 0021): each planned workshop
-- order (projections/models/workshop_orders.py) and its transfer plan per store.
-- Status and reason are those of the same order in rm_production_orders.
CREATE TABLE rm_workshop_orders (
    tenant_id        text    NOT NULL,
    order_id         text    NOT NULL,
    workshop_id      text    NOT NULL,  -- the store that bakes
    sku              text    NOT NULL,
    production_date  date    NOT NULL,
    quantity         numeric NOT NULL,
    reserve          numeric NOT NULL,  -- kept at the workshop for the midday top-up run
    stores           integer NOT NULL,  -- how many stores receive a share
    last_position    bigint  NOT NULL,
    PRIMARY KEY (tenant_id, order_id)
);
-- the read API's pages: latest day first, then order id
CREATE INDEX rm_workshop_orders_by_date
    ON rm_workshop_orders (tenant_id, production_date DESC, order_id);

CREATE TABLE rm_workshop_transfers (
    tenant_id        text    NOT NULL,
    order_id         text    NOT NULL,
    store_id         text    NOT NULL,  -- where the units go
    workshop_id      text    NOT NULL,
    sku              text    NOT NULL,
    production_date  date    NOT NULL,
    quantity         numeric NOT NULL,
    PRIMARY KEY (tenant_id, order_id, store_id)
);
-- a store manager's transfers
CREATE INDEX rm_workshop_transfers_by_store
    ON rm_workshop_transfers (tenant_id, store_id, production_date);
