-- Cursor pagination of the read API (read_api/paging.py, docs/api.md "Pages"):
-- each list is read in the order of its key, after the previous page's last
-- row. These indexes serve that order per tenant, so a page costs the rows it
-- returns whatever its depth (rm_inventory_stock's primary key already does).
CREATE INDEX rm_sales_daily_by_date ON rm_sales_daily (tenant_id, sales_date, store_id, sku);
CREATE INDEX rm_forecasts_by_day ON rm_forecasts (tenant_id, day, store_id, sku);
CREATE INDEX rm_production_orders_by_date
    ON rm_production_orders (tenant_id, production_date DESC, order_id);
CREATE INDEX rm_purchase_orders_by_delivery
    ON rm_purchase_orders (tenant_id, expected_delivery_at, po_id);
