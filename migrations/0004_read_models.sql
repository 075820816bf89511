-- Read-model tables of the four projections in projections/models/
-- (docs/read-models.md explains every column). Every table starts its primary
-- key with tenant_id, so a read is always scoped to one tenant and rows compare
-- deterministically between the live projection and a rebuild's shadow copy.
-- Only the projector writes these tables; read_api only SELECTs them.
-- Quantities and money are unconstrained numeric: the projection writes exactly
-- what the events say, no rounding.
-- Tables updated by nearly every batch keep free room in their pages
-- (fillfactor) and no changing column in their indexes, so updates stay HOT
-- and the tables do not bloat between vacuums (3x faster inventory rebuilds).

------------------------------------------------------------------ inventory

-- One row per tenant x store x item (product or ingredient).
CREATE TABLE rm_inventory_stock (
    tenant_id      text        NOT NULL,
    store_id       text        NOT NULL,
    item_id        text        NOT NULL,
    item_kind      text,                  -- product | ingredient; NULL until an event says
    on_hand        numeric     NOT NULL,  -- book stock = lot_quantity - shortfall (may be < 0)
    lot_quantity   numeric     NOT NULL,  -- what the lots hold
    shortfall      numeric     NOT NULL,  -- consumed with no lot to take it from
    reserved       numeric     NOT NULL,  -- ingredients still needed by open confirmed orders
    available      numeric     NOT NULL,  -- on_hand - reserved
    stock_value    numeric     NOT NULL,  -- sum over lots of quantity x unit_cost
    negative       boolean     NOT NULL,  -- on_hand < 0: sales outran the books
    last_position  bigint      NOT NULL,  -- global position of the last event that changed the row
    last_event_at  timestamptz NOT NULL,  -- occurred_at of that event
    PRIMARY KEY (tenant_id, store_id, item_id)
) WITH (fillfactor = 50);
CREATE INDEX rm_inventory_stock_item ON rm_inventory_stock (tenant_id, item_id);
CREATE INDEX rm_inventory_stock_negative ON rm_inventory_stock (tenant_id, store_id)
    WHERE negative;

-- Lots of each stock row. Emptied lots stay (quantity 0) so a later return or
-- transfer into the same lot keeps its expiry and cost; readers filter quantity > 0.
CREATE TABLE rm_inventory_lots (
    tenant_id          text        NOT NULL,
    store_id           text        NOT NULL,
    item_id            text        NOT NULL,
    lot_id             text        NOT NULL,
    quantity           numeric     NOT NULL,
    expires_on         date,                  -- NULL: does not expire (sorted last)
    unit_cost          numeric     NOT NULL,
    received_position  bigint      NOT NULL,  -- global position of the event that created it
    received_at        timestamptz NOT NULL,
    origin             text        NOT NULL,  -- receipt | purchase_order | manufacturing_order | transfer | count_surplus | return
    origin_id          text,                  -- the order or transfer id, when there is one
    PRIMARY KEY (tenant_id, store_id, item_id, lot_id)
) WITH (fillfactor = 70);
-- FIFO by expiry: ... WHERE quantity > 0 ORDER BY expires_on NULLS LAST, received_position.
-- (quantity is not in the index, not even as a predicate: it changes on every move.)
CREATE INDEX rm_inventory_lots_fifo ON rm_inventory_lots
    (tenant_id, store_id, item_id, expires_on NULLS LAST, received_position);
CREATE INDEX rm_inventory_lots_expiring ON rm_inventory_lots (tenant_id, expires_on);

-- Latest recipe version per product, to turn an order quantity into ingredient needs.
CREATE TABLE rm_inventory_recipe_lines (
    tenant_id       text    NOT NULL,
    sku             text    NOT NULL,
    ingredient_id   text    NOT NULL,
    version         integer NOT NULL,
    quantity        numeric NOT NULL,  -- per yield_quantity units of product
    yield_quantity  numeric NOT NULL,
    PRIMARY KEY (tenant_id, sku, ingredient_id)
);

-- Manufacturing orders still open (suggested, confirmed, in_progress); removed
-- when completed or cancelled, which releases their reservations.
CREATE TABLE rm_inventory_orders (
    tenant_id  text    NOT NULL,
    order_id   text    NOT NULL,
    sku        text    NOT NULL,
    store_id   text    NOT NULL,  -- producing store: where the ingredients are taken
    quantity   numeric NOT NULL,
    status     text    NOT NULL,
    PRIMARY KEY (tenant_id, order_id)
);
CREATE INDEX rm_inventory_orders_sku ON rm_inventory_orders (tenant_id, sku);

-- Per open order x ingredient: what the recipe needs, what its batches took, what is still held.
CREATE TABLE rm_inventory_reservations (
    tenant_id      text    NOT NULL,
    order_id       text    NOT NULL,
    ingredient_id  text    NOT NULL,
    store_id       text    NOT NULL,
    required       numeric NOT NULL,
    consumed       numeric NOT NULL,
    reserved       numeric NOT NULL,  -- greatest(required - consumed, 0) once confirmed, else 0
    PRIMARY KEY (tenant_id, order_id, ingredient_id)
);
CREATE INDEX rm_inventory_reservations_stock ON rm_inventory_reservations
    (tenant_id, store_id, ingredient_id);

---------------------------------------------------------------------- sales

CREATE TABLE rm_sales_store_timezones (
    tenant_id  text NOT NULL,
    store_id   text NOT NULL,
    timezone   text NOT NULL,  -- IANA name from StoreOpened
    PRIMARY KEY (tenant_id, store_id)
);

-- One row per ticket; sales_date/hour are the store-local day and hour of sold_at.
CREATE TABLE rm_sales_tickets (
    tenant_id        text        NOT NULL,
    store_id         text        NOT NULL,
    pos_txn_id       text        NOT NULL,
    sold_at          timestamptz NOT NULL,
    sales_date       date        NOT NULL,
    hour             smallint    NOT NULL,
    channel          text        NOT NULL,
    source           text        NOT NULL,
    line_count       integer     NOT NULL,
    units            numeric     NOT NULL,  -- as sold
    total            numeric     NOT NULL,  -- as sold
    refunded_units   numeric     NOT NULL,
    refunded_amount  numeric     NOT NULL,
    net_units        numeric     NOT NULL,  -- 0 once voided
    net_amount       numeric     NOT NULL,  -- 0 once voided
    refunds          integer     NOT NULL,
    voided           boolean     NOT NULL,
    void_reason      text,
    recorded_position bigint     NOT NULL,
    PRIMARY KEY (tenant_id, store_id, pos_txn_id)
);
-- Not (tenant_id, store_id, …): an index sharing the key's leading columns can
-- win a plan by mistake on a table without statistics yet (a rebuild's copy).
CREATE INDEX rm_sales_tickets_day ON rm_sales_tickets (tenant_id, sales_date, store_id, hour);

-- Per ticket x product, so a void or refund can be taken back from the right day.
CREATE TABLE rm_sales_ticket_lines (
    tenant_id         text    NOT NULL,
    store_id          text    NOT NULL,
    pos_txn_id        text    NOT NULL,
    sku               text    NOT NULL,
    units             numeric NOT NULL,
    revenue           numeric NOT NULL,
    refunded_units    numeric NOT NULL,
    refunded_revenue  numeric NOT NULL,
    PRIMARY KEY (tenant_id, store_id, pos_txn_id, sku)
);

-- Net daily totals per store x product (forecasting's input).
CREATE TABLE rm_sales_daily (
    tenant_id   text    NOT NULL,
    store_id    text    NOT NULL,
    sku         text    NOT NULL,
    sales_date  date    NOT NULL,
    units       numeric NOT NULL,
    revenue     numeric NOT NULL,
    tickets     integer NOT NULL,  -- tickets (not voided) with this product
    PRIMARY KEY (tenant_id, store_id, sku, sales_date)
) WITH (fillfactor = 70);
CREATE INDEX rm_sales_daily_date ON rm_sales_daily (tenant_id, sales_date);

CREATE TABLE rm_sales_hourly (
    tenant_id   text     NOT NULL,
    store_id    text     NOT NULL,
    sku         text     NOT NULL,
    sales_date  date     NOT NULL,
    hour        smallint NOT NULL,  -- 0-23, store-local
    units       numeric  NOT NULL,
    revenue     numeric  NOT NULL,
    PRIMARY KEY (tenant_id, store_id, sku, sales_date, hour)
) WITH (fillfactor = 70);
CREATE INDEX rm_sales_hourly_date ON rm_sales_hourly (tenant_id, store_id, sales_date, hour);

---------------------------------------------------------- production orders

CREATE TABLE rm_production_orders (
    tenant_id             text        NOT NULL,
    order_id              text        NOT NULL,
    sku                   text        NOT NULL,
    quantity              numeric     NOT NULL,
    production_date       date        NOT NULL,
    expected_completion   date        NOT NULL,  -- = production_date (no time in the events)
    producing_store_id    text        NOT NULL,
    destination_store_id  text        NOT NULL,
    status                text        NOT NULL,  -- suggested | confirmed | in_progress | completed | cancelled
    reason                text        NOT NULL,
    forecast_id           text,
    created_at            timestamptz NOT NULL,
    confirmed_at          timestamptz,
    confirmed_by          text,
    started_at            timestamptz,
    completed_at          timestamptz,
    cancelled_at          timestamptz,
    cancel_reason         text,
    cancelled_by          text,
    quantity_produced     numeric,
    produced_lot_id       text,
    batches               integer     NOT NULL,
    batch_yield           numeric     NOT NULL,
    quality_checks        integer     NOT NULL,
    quality_failures      integer     NOT NULL,
    edits                 integer     NOT NULL,
    last_position         bigint      NOT NULL,
    updated_at            timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, order_id)
);
CREATE INDEX rm_production_orders_status ON rm_production_orders
    (tenant_id, status, production_date);
CREATE INDEX rm_production_orders_sku ON rm_production_orders (tenant_id, sku, production_date);
CREATE INDEX rm_production_orders_producing ON rm_production_orders
    (tenant_id, producing_store_id, production_date);
CREATE INDEX rm_production_orders_destination ON rm_production_orders
    (tenant_id, destination_store_id, production_date);
CREATE INDEX rm_production_orders_date ON rm_production_orders (tenant_id, production_date);
CREATE INDEX rm_production_orders_created ON rm_production_orders (tenant_id, created_at);

----------------------------------------------------------- purchase orders

CREATE TABLE rm_purchase_suppliers (
    tenant_id       text    NOT NULL,
    supplier_id     text    NOT NULL,
    name            text    NOT NULL,
    lead_time_days  integer NOT NULL,
    PRIMARY KEY (tenant_id, supplier_id)
);

CREATE TABLE rm_purchase_orders (
    tenant_id             text        NOT NULL,
    po_id                 text        NOT NULL,
    supplier_id           text        NOT NULL,
    store_id              text        NOT NULL,
    status                text        NOT NULL,  -- draft | approved | sent | partially_received | received | cancelled
    expected_delivery_at  timestamptz NOT NULL,
    drafted_at            timestamptz NOT NULL,
    drafted_by            text        NOT NULL,
    approved_at           timestamptz,
    approved_by           text,
    sent_at               timestamptz,
    last_delivery_at      timestamptz,
    received_at           timestamptz,  -- when the order became fully received
    cancelled_at          timestamptz,
    cancel_reason         text,
    line_count            integer     NOT NULL,
    ordered_quantity      numeric     NOT NULL,
    received_quantity     numeric     NOT NULL,
    ordered_value         numeric     NOT NULL,
    received_value        numeric     NOT NULL,
    deliveries            integer     NOT NULL,
    discrepancies         integer     NOT NULL,
    last_position         bigint      NOT NULL,
    updated_at            timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, po_id)
);
CREATE INDEX rm_purchase_orders_status ON rm_purchase_orders
    (tenant_id, status, expected_delivery_at);
CREATE INDEX rm_purchase_orders_supplier ON rm_purchase_orders
    (tenant_id, supplier_id, expected_delivery_at);
CREATE INDEX rm_purchase_orders_store ON rm_purchase_orders
    (tenant_id, store_id, expected_delivery_at);

CREATE TABLE rm_purchase_order_lines (
    tenant_id             text    NOT NULL,
    po_id                 text    NOT NULL,
    item_id               text    NOT NULL,
    line_no               integer NOT NULL,  -- first appearance on the order; unordered items after
    ordered_quantity      numeric NOT NULL,
    unit_price            numeric,           -- NULL for an item that was not ordered
    ordered_value         numeric NOT NULL,
    received_quantity     numeric NOT NULL,
    received_value        numeric NOT NULL,  -- sum of received quantity x invoiced unit cost
    outstanding_quantity  numeric NOT NULL,  -- greatest(ordered - received, 0), even once closed short
    PRIMARY KEY (tenant_id, po_id, item_id)
);
