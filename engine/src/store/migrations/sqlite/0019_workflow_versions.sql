-- Hot reload (`weft serve`): which version of its workflow made each decision, so that a
-- decision made before a reload can be told from one made after it. The version is the
-- first 12 hex digits of the SHA-256 of the workflow file as it was loaded; NULL for
-- decisions made by hand or from the command line, and for those logged before this column.
-- Keep the sqlite and postgres files of this migration in step.
ALTER TABLE decisions ADD COLUMN workflow_version TEXT;
