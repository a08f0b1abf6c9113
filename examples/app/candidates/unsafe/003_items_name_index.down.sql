ALTER TABLE items DROP CONSTRAINT IF EXISTS items_name_not_blank;
DROP INDEX IF EXISTS items_name_idx;
