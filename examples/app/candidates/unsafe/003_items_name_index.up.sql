-- Unsafe: the index is built in one go under a SHARE lock on items, so every INSERT, UPDATE and
-- DELETE waits for the whole build; the CHECK is verified over every row under an ACCESS EXCLUSIVE
-- lock, held to the end of the migration's transaction; and no lock_timeout, so queued behind a
-- long query it stalls every query on items. `switchyard rehearse` names each, with its fix.
CREATE INDEX items_name_idx ON items (name);
ALTER TABLE items ADD CONSTRAINT items_name_not_blank CHECK (name <> '');
