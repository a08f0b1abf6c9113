-- migrate:no-transaction
-- The safe rewrite of ../unsafe: each statement commits on its own (CREATE INDEX CONCURRENTLY
-- cannot run in a transaction), and gives up after 5 s rather than queue for a lock.
SET lock_timeout = '5s';
-- A build that failed before leaves an INVALID index behind: drop it, then build, while reads and
-- writes go on.
DROP INDEX CONCURRENTLY IF EXISTS items_name_idx;
CREATE INDEX CONCURRENTLY items_name_idx ON items (name);
-- New rows are checked at once; the old ones are verified under a lock that lets reads and writes go on.
ALTER TABLE items ADD CONSTRAINT items_name_not_blank CHECK (name <> '') NOT VALID;
ALTER TABLE items VALIDATE CONSTRAINT items_name_not_blank;
