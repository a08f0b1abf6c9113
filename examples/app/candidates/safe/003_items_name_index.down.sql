-- migrate:no-transaction
SET lock_timeout = '5s';
ALTER TABLE items DROP CONSTRAINT IF EXISTS items_name_not_blank;
DROP INDEX CONCURRENTLY IF EXISTS items_name_idx;
