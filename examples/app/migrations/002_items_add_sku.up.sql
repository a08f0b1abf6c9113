-- Expand: a nullable column, so the previous version keeps working beside the new one.
ALTER TABLE items ADD COLUMN IF NOT EXISTS sku text;
