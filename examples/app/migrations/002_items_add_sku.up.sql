-- Give up after 5 s rather than queue for the table's lock behind a long query.
SET LOCAL lock_timeout = '5s';
-- Expand: a nullable column, so the previous version keeps working beside the new one.
ALTER TABLE items ADD COLUMN IF NOT EXISTS sku text;
